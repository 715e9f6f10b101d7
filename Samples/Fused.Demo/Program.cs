using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.IO;
using System.Linq;
using Fused.Demo.Commands;
using Spectre.Console;

namespace Fused.Demo
{
    public static class Program
    {
        /// <summary>Exit code of a command that ran and failed (a file it could not use, a run that stopped).</summary>
        public const int RuntimeFailure = 1;

        /// <summary>Exit code of a command line that does not parse or has a value out of range.</summary>
        public const int UsageError = 2;

        /// <summary>Set to 1 to get the stack trace of a runtime failure (for bug reports).</summary>
        public const string DebugVariable = "FUSED_DEBUG";

        public static int Main(string[] args)
        {
            ConfigureConsole();
            return Run(args, System.Console.Error);
        }

        /// <summary>
        /// Parses and runs a command line. Nothing a user typed or pointed at prints a stack trace: parse and range
        /// errors are one line each plus a usage line (exit 2); a command that fails at run time prints one line
        /// (exit 1), with the stack trace only when <see cref="DebugVariable"/> is 1.
        /// </summary>
        public static int Run(string[] args, TextWriter error)
        {
            var parse = Cli.Build().Parse(Cli.WithDefaultCommand(args));
            if (parse.Errors.Count > 0)
            {
                foreach (var e in parse.Errors) error.WriteLine($"fused: {OneLine(e.Message)}");
                string path = CommandPath(parse.CommandResult);
                error.WriteLine($"usage: {path} [options]  (run '{path} --help' for the options)");
                return UsageError;
            }
            try
            {
                return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            }
            catch (Exception e)
            {
                var inner = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : e;
                error.WriteLine($"fused: {OneLine(inner.Message)}");
                if (Environment.GetEnvironmentVariable(DebugVariable) == "1") error.WriteLine(inner);
                return RuntimeFailure;
            }
        }

        private static string CommandPath(CommandResult result)
        {
            var names = new System.Collections.Generic.List<string>();
            for (SymbolResult? r = result; r != null; r = r.Parent)
                if (r is CommandResult c && c.Command is not RootCommand) names.Insert(0, c.Command.Name);
            return string.Join(" ", names.Prepend("fused"));
        }

        private static string OneLine(string message) => string.Join(" ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

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
