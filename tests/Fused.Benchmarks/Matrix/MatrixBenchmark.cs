using System;
using System.Diagnostics;
using System.Globalization;
using Fused.Runtime.Matrix;

namespace Fused.Benchmarks.Matrix
{
    /// <summary>
    /// Measures the matrix passes against the BLAS they run on, in one process: sgemm GFLOP/s at the shapes
    /// Newton-Schulz uses, NS5 (plain / symmetric / Gram-space) achieved rate and its ratio to sgemm, and one
    /// Shampoo step on 1024×1024 against its GEMM floor. Prints markdown tables. Not a test: numbers depend on
    /// the machine and its load.
    /// </summary>
    /// <remarks>
    /// FLOP convention: Newton-Schulz is always charged its plain-GEMM count per step, for X r×c with r ≤ c:
    /// 2r²c (X·Xᵀ) + 2r³ (A·A) + 2r²c (B·X). Symmetric and Gram variants do less arithmetic for the same result,
    /// so their "effective GFLOP/s" can exceed the sgemm rate; the ratio column is then a speed-up, not an
    /// efficiency. Arguments: "--reps N" (default 5), "--quick" (3 reps, skips 4096-long shapes).
    /// </remarks>
    public static class MatrixBenchmark
    {
        /// <summary>Runs the benchmark and prints the tables to stdout.</summary>
        public static void Run(string[] args)
        {
            int reps = 5;
            bool quick = false;
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--reps" && i + 1 < args.Length)
                {
                    reps = int.Parse(args[++i], CultureInfo.InvariantCulture);
                }
                else if (args[i] == "--quick")
                {
                    quick = true;
                    reps = 3;
                }
            }

            Blas.Log = line => Console.WriteLine("# " + line);
            Console.WriteLine($"# Matrix benchmark: backend {Blas.Backend}, OpenBLAS threads {OpenBlas.ThreadCount?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}, " +
                              $"{Environment.ProcessorCount} logical cores, median of {reps} after warm-up");
            Console.WriteLine();

            (int Rows, int Cols)[] shapes = quick
                ? new[] { (512, 512), (1024, 1024) }
                : new[] { (512, 512), (1024, 1024), (1024, 4096), (4096, 1024) };

            // Each shape's sgemm reference is timed right before its NS variants, so a shared machine's load
            // changes hit both sides of the ratio alike. "best" is the fastest repetition, the least load-distorted.
            Console.WriteLine("| NS5 shape | variant | median ms | best ms | effective GFLOP/s (median) | × sgemm rate |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|");
            double sgemm1024 = 0;
            foreach ((int rows, int cols) in shapes)
            {
                int r = Math.Min(rows, cols);
                int c = Math.Max(rows, cols);

                // Reference: the dominant NS product (r×r)·(r×c).
                Timing gemm = TimeSgemm(r, c, r, reps);
                double gemmFlops = 2.0 * r * c * r;
                double sgemmGflops = gemmFlops / gemm.Median / 1e9;
                if (r == 1024 && c == 1024)
                {
                    sgemm1024 = sgemmGflops;
                }

                Console.WriteLine(Invariant($"| {rows}×{cols} | sgemm {r}×{c}×{r} (reference) | {gemm.Median * 1e3:F1} | {gemm.Best * 1e3:F1} | {sgemmGflops:F1} | 1.00 |"));

                double flops = 5 * ((4.0 * r * r * c) + (2.0 * r * r * r));
                (string Name, NewtonSchulzOptions Options)[] variants =
                {
                    ("plain sgemm", new NewtonSchulzOptions(5, null, false, double.PositiveInfinity)),
                    ("symmetric (syrk/symm)", new NewtonSchulzOptions(5, null, true, double.PositiveInfinity)),
                    ("Gram-space", new NewtonSchulzOptions(5, null, false, 1.0)),
                    ("Gram-space + symmetric", new NewtonSchulzOptions(5, null, true, 1.0)),
                };
                foreach ((string name, NewtonSchulzOptions options) in variants)
                {
                    Timing t = TimeNewtonSchulz(rows, cols, options, reps);
                    double gflops = flops / t.Median / 1e9;
                    Console.WriteLine(Invariant($"| {rows}×{cols} | NS5 {name} | {t.Median * 1e3:F1} | {t.Best * 1e3:F1} | {gflops:F1} | {gflops / sgemmGflops:F2} |"));
                }
            }

            Console.WriteLine();
            RunShampoo(1024, reps, sgemm1024 > 0 ? sgemm1024 : 2.0 * Math.Pow(1024, 3) / TimeSgemm(1024, 1024, 1024, reps).Median / 1e9);
        }

        private static void RunShampoo(int n, int reps, double sgemmGflops)
        {
            var random = new Random(7);
            float[] g = RandomMatrix(random, n * n);
            float[] left = new float[n * n];
            float[] right = new float[n * n];
            float[] leftRoot = new float[n * n];
            float[] rightRoot = new float[n * n];
            float[] direction = new float[n * n];
            var workspace = new MatrixWorkspace();
            ShampooStatistics.AccumulateGram(g, n, n, left, right);

            double accumulate = Measure(reps, () => ShampooStatistics.AccumulateGram(g, n, n, left, right, 0.99f, 0.01f));
            double roots = Measure(reps, () =>
            {
                SymmetricMatrix.InverseRoot(left, n, 4, 1e-6, leftRoot, workspace);
                SymmetricMatrix.InverseRoot(right, n, 4, 1e-6, rightRoot, workspace);
            });
            float[] eigenScratch = new float[n * n];
            float[] eigenvalues = new float[n];
            double eigen = Measure(reps, () =>
            {
                left.AsSpan().CopyTo(eigenScratch);
                Blas.Ssyevd(n, eigenScratch, n, eigenvalues);
            });
            double precondition = Measure(reps, () => ShampooStatistics.Precondition(leftRoot, g, rightRoot, n, n, direction, workspace));

            // GEMM floor in useful FLOPs: two syrk (n³ each), two root reconstructions by syrk (n³ each),
            // two symm (2n³ each) = 8n³, at the measured sgemm rate. The eigendecompositions are not GEMM work.
            double n3 = (double)n * n * n;
            double floorAll = 8 * n3 / (sgemmGflops * 1e9);
            double floorNoRoots = 6 * n3 / (sgemmGflops * 1e9);
            double full = accumulate + roots + precondition;
            Console.WriteLine($"| Shampoo {n}×{n} piece | ms | GEMM floor ms | × floor |");
            Console.WriteLine("|---|---:|---:|---:|");
            Console.WriteLine(Invariant($"| AccumulateGram (2× ssyrk) | {accumulate * 1e3:F1} | {2 * n3 / (sgemmGflops * 1e9) * 1e3:F1} | {accumulate / (2 * n3 / (sgemmGflops * 1e9)):F2} |"));
            Console.WriteLine(Invariant($"| ssyevd alone (one side) | {eigen * 1e3:F1} | – | – |"));
            Console.WriteLine(Invariant($"| 2× InverseRoot p=4 (ssyevd + syrk) | {roots * 1e3:F1} | {2 * n3 / (sgemmGflops * 1e9) * 1e3:F1} | {roots / (2 * n3 / (sgemmGflops * 1e9)):F2} |"));
            Console.WriteLine(Invariant($"| Precondition L·G·R (2× ssymm) | {precondition * 1e3:F1} | {4 * n3 / (sgemmGflops * 1e9) * 1e3:F1} | {precondition / (4 * n3 / (sgemmGflops * 1e9)):F2} |"));
            Console.WriteLine(Invariant($"| step without root refresh | {(accumulate + precondition) * 1e3:F1} | {floorNoRoots * 1e3:F1} | {(accumulate + precondition) / floorNoRoots:F2} |"));
            Console.WriteLine(Invariant($"| step with root refresh | {full * 1e3:F1} | {floorAll * 1e3:F1} | {full / floorAll:F2} |"));
        }

        private static Timing TimeSgemm(int m, int n, int k, int reps)
        {
            var random = new Random(m + n + k);
            float[] a = RandomMatrix(random, m * k);
            float[] b = RandomMatrix(random, k * n);
            float[] c = new float[m * n];
            return Measure(reps, () => Blas.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n));
        }

        private static Timing TimeNewtonSchulz(int rows, int cols, NewtonSchulzOptions options, int reps)
        {
            var random = new Random(rows * 31 + cols);
            float[] g = RandomMatrix(random, rows * cols);
            float[] result = new float[rows * cols];
            var workspace = new MatrixWorkspace();
            return Measure(reps, () => NewtonSchulz.Orthogonalize(g, rows, cols, result, options, workspace));
        }

        /// <summary>Two warm-up runs, then the median and the best wall time of <paramref name="reps"/> runs, in seconds.</summary>
        private static Timing Measure(int reps, Action action)
        {
            action();
            action();
            var samples = new double[reps];
            for (int i = 0; i < reps; i++)
            {
                long start = Stopwatch.GetTimestamp();
                action();
                samples[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }

            Array.Sort(samples);
            double median = reps % 2 == 1 ? samples[reps / 2] : 0.5 * (samples[(reps / 2) - 1] + samples[reps / 2]);
            return new Timing(median, samples[0]);
        }

        private readonly record struct Timing(double Median, double Best)
        {
            public static implicit operator double(Timing timing) => timing.Median;
        }

        private static float[] RandomMatrix(Random random, int count)
        {
            var values = new float[count];
            for (int i = 0; i < count; i++)
            {
                values[i] = (float)((random.NextDouble() * 2) - 1);
            }

            return values;
        }

        private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
    }
}
