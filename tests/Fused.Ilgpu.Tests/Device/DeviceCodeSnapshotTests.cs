using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using Fused.Catalog;
using Fused.Runtime.Kernels;
using Xunit;

namespace Fused.Ilgpu.Tests.Device
{
    /// <summary>
    /// The device code ILGPU makes of every catalog rule — the OpenCL C and PTX the OpenCL and CUDA accelerators load
    /// (device-less, contraction off) — as checked-in snapshots in <c>_snapshots/</c>, normalised
    /// (<see cref="DevicelessCompiler.Normalize"/>). A change to the generator's ILGPU kernels, the render table or ILGPU
    /// shows here as a diff to review; <c>FUSED_ACCEPT_SNAPSHOTS=1</c> accepts it. The snapshot helper is the one users get
    /// (<c>Fused.Testing.Snapshot</c>).
    /// </summary>
    public sealed class DeviceCodeSnapshotTests
    {
        public static IEnumerable<object[]> Rules() => CatalogRules.All.Select(r => new object[] { r.Name });

        [Theory]
        [MemberData(nameof(Rules))]
        public void OpenCL_C_of_every_kernel_of_the_rule_matches_its_snapshot(string name)
        {
            var rule = CatalogRules.All.Single(r => r.Name == name);
            Match(FileName(rule) + ".opencl", Kernels(rule).Select(k => (k.Name, DevicelessCompiler.OpenClC(k).Rewritten.Source)));
        }

        [Theory]
        [MemberData(nameof(Rules))]
        public void PTX_of_every_kernel_of_the_rule_matches_its_snapshot(string name)
        {
            var rule = CatalogRules.All.Single(r => r.Name == name);
            Match(FileName(rule) + ".ptx", Kernels(rule).Select(k => (k.Name, DevicelessCompiler.Ptx(k).Rewritten.PTXAssembly)));
        }

        [Fact]
        public void The_reduction_kernels_match_their_snapshots()
        {
            Match("BlockReduce.opencl", DevicelessCompiler.ReductionKernels.Select(k => (k.Name, DevicelessCompiler.OpenClC(k).Rewritten.Source)));
            Match("BlockReduce.ptx", DevicelessCompiler.ReductionKernels.Select(k => (k.Name, DevicelessCompiler.Ptx(k).Rewritten.PTXAssembly)));
        }

        [Fact]
        public void The_matrix_pass_kernels_match_their_snapshots()
        {
            // The tiled GEMM (shared memory, barriers) and its helpers: what Newton-Schulz runs on OpenCL devices.
            Match("MatrixKernels.opencl", DevicelessCompiler.MatrixPassKernels.Select(k => (k.Kernel.Name, DevicelessCompiler.OpenClC(k.Kernel, k.Grouped).Rewritten.Source)));
            Match("MatrixKernels.ptx", DevicelessCompiler.MatrixPassKernels.Select(k => (k.Kernel.Name, DevicelessCompiler.Ptx(k.Kernel, k.Grouped).Rewritten.PTXAssembly)));
        }

        [Fact]
        public void Numbering_that_shifts_between_compiles_is_normalised_away()
        {
            // The same kernel compiled after others gets other type_N and L_N numbers; normalised, the texts are equal.
            var kernel = IlgpuKernels.Of(AdamW.Rule).Pass(0);
            string first = DevicelessCompiler.OpenClC(kernel).Rewritten.Source;
            foreach (var other in DevicelessCompiler.ReductionKernels) DevicelessCompiler.OpenClC(other);
            string again = DevicelessCompiler.OpenClC(kernel).Rewritten.Source;
            Assert.NotEqual(first, again);
            Assert.Equal(DevicelessCompiler.Normalize(first), DevicelessCompiler.Normalize(again));
        }

        private static IEnumerable<System.Reflection.MethodInfo> Kernels(FusedRule rule) =>
            Enumerable.Range(0, rule.Schedule.PassCount).Select(IlgpuKernels.Of(rule).Pass);

        private static string FileName(FusedRule rule) => new string(rule.Name.Select(c => char.IsLetterOrDigit(c) || c == '-' ? c : '_').ToArray());

        private static void Match(string name, IEnumerable<(string Kernel, string Code)> kernels)
        {
            var text = new StringBuilder();
            foreach (var (kernel, code) in kernels)
                text.Append("// ---- ").Append(kernel).Append(" ----\n").Append(DevicelessCompiler.Normalize(code.Replace("\r\n", "\n"))).Append('\n');
            Fused.Testing.Snapshot.Match(text.ToString(), name, SnapshotDirectory());
        }

        /// <summary>tests/Fused.Ilgpu.Tests/_snapshots: from this file's path, or (paths mapped away) up from the test binaries.</summary>
        private static string SnapshotDirectory([CallerFilePath] string file = "")
        {
            const string Project = "Fused.Ilgpu.Tests.csproj";
            string? fromSource = Path.GetDirectoryName(Path.GetDirectoryName(file));
            if (fromSource != null && File.Exists(Path.Combine(fromSource, Project))) return Path.Combine(fromSource, "_snapshots");
            for (var dir = new DirectoryInfo(System.AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, Project))) return Path.Combine(dir.FullName, "_snapshots");
            throw new DirectoryNotFoundException("cannot find the Fused.Ilgpu.Tests project directory");
        }
    }
}
