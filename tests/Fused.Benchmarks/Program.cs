using System;
using System.Linq;

namespace Fused.Benchmarks
{
    /// <summary>
    /// Benchmarks (not tests): <c>dotnet run -c Release --project tests/Fused.Benchmarks -- &lt;suite&gt; [args]</c>.
    /// Every figure is reported next to a ceiling measured in the same run.
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            string suite = args.Length > 0 ? args[0] : "elementwise";
            var rest = args.Skip(1).ToArray();
            switch (suite)
            {
                case "elementwise": Elementwise.ElementwiseBenchmark.Run(rest); return 0;
                case "opencl": OpenCL.OpenClBenchmark.Run(rest); return 0;
                case "matrix": Matrix.MatrixBenchmark.Run(rest); return 0;
                case "engine": Engine.EngineBenchmark.Run(rest); return 0;
                case "user": return UserArrays.UserArrayBenchmark.Run(rest);
                default:
                    Console.Error.WriteLine("suites: elementwise, engine, user, matrix, opencl");
                    return 2;
            }
        }
    }
}
