using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Fused.Catalog;
using Fused.Execution;
using Fused.Ilgpu;
using Fused.Ir;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Kernels;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Fused.GpuCheck
{
    /// <summary>
    /// Steps AdamW, Lion, C-AdamW and Muon through <see cref="IlgpuBackend"/> on a GPU (CUDA by default) and on the CPU
    /// kernels from the same parameters and gradients; prints, per rule, whether every parameter and element state is
    /// bit-identical, the device's time per step and its GB/s (the rule's bytes moved per step) against a device copy
    /// kernel measured in the same run, and the kernel launches and stream waits per step. Options: --accelerator
    /// cuda|cpu, --elements N (default 16M; Muon takes the nearest square matrix), --steps N (default 3).
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            string kind = Option(args, "--accelerator") ?? "cuda";
            long elements = long.Parse(Option(args, "--elements") ?? (16L << 20).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            int steps = int.Parse(Option(args, "--steps") ?? "3", CultureInfo.InvariantCulture);
            using var context = Context.Create(b => { if (kind == "cpu") b.CPU(); else b.Cuda(); });
            Accelerator accelerator;
            if (kind == "cpu") accelerator = context.CreateCPUAccelerator(0);
            else
            {
                var cuda = context.GetCudaDevices();
                if (cuda.Count == 0)
                {
                    Console.Error.WriteLine("no CUDA device (run with --accelerator cpu --elements 4096 to check the path on ILGPU's CPU emulator)");
                    return 2;
                }
                accelerator = cuda[0].CreateAccelerator(context);
            }
            using (accelerator)
            {
                Console.WriteLine($"accelerator: {accelerator.Name} ({accelerator.AcceleratorType}), {elements} elements, {steps} steps");
                double copyGBs = CopyBandwidth(accelerator, elements);
                Console.WriteLine($"device copy kernel: {copyGBs:F2} GB/s (read + write)");
                Console.WriteLine("rule        shape            bits           ms/step   GB/s   % of copy  launches/step  waits/step");
                bool allIdentical = true;
                foreach (var rule in new[] { AdamW.Rule, Lion.Rule, CautiousAdamW.Rule, Muon.Rule })
                    allIdentical &= Check(rule, accelerator, elements, steps, copyGBs, NewtonSchulzPlacement.Host);
                // Newton-Schulz on the device sums its products in another order than the host's BLAS: compared to rounding.
                bool deviceNs = Check(Muon.Rule, accelerator, elements, steps, copyGBs, NewtonSchulzPlacement.Device);
                Console.WriteLine(allIdentical ? "every rule bit-identical to the CPU kernels (Newton-Schulz on the host)" : "SOME RULES DIFFER from the CPU kernels");
                Console.WriteLine(deviceNs ? "Muon with Newton-Schulz on the device: within rounding of the CPU" : "Muon with Newton-Schulz on the device: BEYOND ROUNDING of the CPU");
                allIdentical &= deviceNs;
                return allIdentical ? 0 : 1;
            }
        }

        private static string? Option(string[] args, string name)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        /// <summary>A copy kernel over the same element count: the bandwidth the fused passes are measured against.</summary>
        public static void Copy(Index1D i, ArrayView<float> source, ArrayView<float> target) => target[i] = source[i];

        private static double CopyBandwidth(Accelerator accelerator, long elements)
        {
            int n = checked((int)elements);
            using var a = accelerator.Allocate1D<float>(n);
            using var b = accelerator.Allocate1D<float>(n);
            var copy = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(Copy);
            copy(n, a.View, b.View);
            accelerator.Synchronize();
            int repeats = 5;
            var watch = Stopwatch.StartNew();
            for (int r = 0; r < repeats; r++) copy(n, a.View, b.View);
            accelerator.Synchronize();
            return 2.0 * 4 * n * repeats / watch.Elapsed.TotalSeconds / 1e9;
        }

        private static bool Check(FusedRule rule, Accelerator accelerator, long elements, int steps, double copyGBs, NewtonSchulzPlacement placement)
        {
            var schedule = rule.Schedule;
            var shape = schedule.Matrices.Count > 0 ? Square(elements) : ShapeInfo.Vector(elements);
            int B = schedule.ProgramBufferCount, n = checked((int)shape.Numel);
            var rnd = new Random(7);
            var cpu = Enumerable.Range(0, B).Select(b => new float[shape.LengthOf(schedule.Buffers[b].Shape)]).ToArray();
            for (int i = 0; i < n; i++) cpu[0][i] = (float)(rnd.NextDouble() - 0.5);
            var hypers = rule.DefaultHyperparameters();
            using var runner = new CpuRuleRunner(rule);
            using var backend = new IlgpuBackend(rule, accelerator, placement: placement);
            var executor = new ScheduleExecutor(schedule, backend);
            backend.SetTensors(new[] { shape });
            executor.SetShapes(new[] { shape });
            backend.Upload(0, "param", cpu[0]);
            double deviceSeconds = 0;
            long launches = backend.Launches, waits = backend.Synchronizations;
            for (int step = 1; step <= steps; step++)
            {
                for (int i = 0; i < n; i++) cpu[1][i] = (float)((rnd.NextDouble() - 0.5) * 0.1);
                backend.Upload(0, "grad", cpu[1]);
                runner.Step(hypers, step, shape, cpu.Select(a => new Memory<float>(a)).ToArray());
                var watch = Stopwatch.StartNew();
                executor.Step(hypers, step);
                if (step > 1) deviceSeconds += watch.Elapsed.TotalSeconds; // the first step compiles and warms up
                waits += 1; // the gradient upload's own wait is not the step's
            }
            double launchesPerStep = (double)(backend.Launches - launches) / steps, waitsPerStep = (double)(backend.Synchronizations - waits) / steps;
            long differing = 0;
            double worst = 0; // largest |device - CPU| relative to the parameter's largest magnitude
            for (int b = 0; b < B; b++)
            {
                if (schedule.Buffers[b].Shape != StateShape.Element) continue;
                var device = new float[n];
                backend.Download(0, schedule.Buffers[b].Name, device);
                double scale = Math.Max(1e-30, cpu[b].Max(v => Math.Abs(v)));
                for (int i = 0; i < n; i++)
                {
                    if (BitConverter.SingleToInt32Bits(device[i]) != BitConverter.SingleToInt32Bits(cpu[b][i])) differing++;
                    worst = Math.Max(worst, Math.Abs(device[i] - cpu[b][i]) / scale);
                }
            }
            double msPerStep = steps > 1 ? deviceSeconds / (steps - 1) * 1e3 : double.NaN;
            double gbs = (double)rule.Layout.BytesMovedPerParameter * n / (msPerStep / 1e3) / 1e9;
            bool rounding = placement == NewtonSchulzPlacement.Device && schedule.Matrices.Count > 0;
            string bits = differing == 0 ? "identical" : rounding ? $"max {worst:G2}" : $"{differing} differ";
            string matrix = backend.NewtonSchulzRunsOn is { } ns ? $" (Newton-Schulz: {ns})" : "";
            Console.WriteLine($"{rule.Name,-11} {shape.Rows + "x" + shape.Cols,-16} {bits,-14} {msPerStep,8:F2} {gbs,6:F2} {100 * gbs / copyGBs,7:F0}%   {launchesPerStep,12:F0} {waitsPerStep,11:F0}{matrix}");
            return differing == 0 || (rounding && worst <= 1e-5);
        }

        private static ShapeInfo Square(long elements)
        {
            long side = Math.Max(1, (long)Math.Sqrt(elements));
            return ShapeInfo.Matrix(side, side);
        }
    }
}
