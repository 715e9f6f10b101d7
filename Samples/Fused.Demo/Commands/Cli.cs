using System;
using System.CommandLine;
using System.Linq;
using System.CommandLine.Help;

namespace Fused.Demo.Commands
{
    /// <summary>
    /// The `fused` command line: train (the default command), landscape, memory, bench, search. No arguments prints
    /// help; options alone (`fused --epochs 1`) are train's options.
    /// </summary>
    public static class Cli
    {
        /// <summary>The command that options alone run.</summary>
        public const string DefaultCommand = "train";

        private static readonly string[] RootOptions = { "-h", "-?", "--help", "--version" };

        /// <summary>
        /// <paramref name="args"/> with <see cref="DefaultCommand"/> put in front when they start with an option that is not
        /// one of the root's own (help, version): `fused --epochs 1` is `fused train --epochs 1`.
        /// </summary>
        public static string[] WithDefaultCommand(string[] args)
            => args.Length > 0 && args[0].StartsWith('-') && Array.IndexOf(RootOptions, args[0]) < 0
                ? args.Prepend(DefaultCommand).ToArray()
                : args;

        public static RootCommand Build()
        {
            var root = new RootCommand("fused — optimizer update rules compiled into fused SIMD kernels, trained side by side on Fashion-MNIST. Options without a command are train's (fused --epochs 1).")
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
