using System;
using Fused.Demo.Commands;
using Spectre.Console;

namespace Fused.Demo
{
    public static class Program
    {
        public static int Main(string[] args)
        {
            ConfigureConsole();
            return Cli.Build().Parse(args).Invoke();
        }

        /// <summary>
        /// Redirected output (a file, a pipe, CI logs) gets plain text: no ANSI colours or links, no live
        /// redraws, and a width wide enough that the results table does not wrap.
        /// </summary>
        private static void ConfigureConsole()
        {
            bool ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
            if (!System.Console.IsOutputRedirected && !ci) return;
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
                Out = new AnsiConsoleOutput(System.Console.Out),
            });
            console.Profile.Width = 160;
            AnsiConsole.Console = console;
        }
    }
}
