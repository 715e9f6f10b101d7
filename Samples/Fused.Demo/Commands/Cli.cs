using System.CommandLine;
using System.CommandLine.Help;

namespace Fused.Demo.Commands
{
    /// <summary>The `fused` command line: train, landscape, memory, bench. No arguments prints help.</summary>
    public static class Cli
    {
        public static RootCommand Build()
        {
            var root = new RootCommand("fused — optimizer update rules compiled into fused SIMD kernels, trained side by side on Fashion-MNIST")
            {
                TrainCommand.Create(),
                LandscapeCommand.Create(),
                MemoryCommand.Create(),
                BenchCommand.Create(),
                SearchCommand.Create(),
            };
            // With no subcommand, show what there is rather than doing something surprising.
            root.SetAction(parse => new HelpAction().Invoke(parse));
            return root;
        }
    }
}
