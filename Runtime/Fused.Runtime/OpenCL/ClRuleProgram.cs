using System;
using System.Linq;
using Fused.Ir;
using Fused.Ir.Emit;
using Fused.Runtime.Kernels;

namespace Fused.Runtime.OpenCL
{
    /// <summary>
    /// A rule's kernels on one queue: each pass's scalar kernel (<c>fused_passK</c>) and, when the vector kernels run,
    /// its vector kernel (<c>fused_passK_vec</c>), with the support kernels of the canonical reduction orders. Generated
    /// rules carry their OpenCL C (emitted at compile time from the same plan as their schedule); rules built at run time
    /// are emitted here. Built once per device (programs are cached in memory and on disk) and shared by every
    /// <see cref="ClBackend"/> of the rule on that queue. Kernel arguments are set just before each launch, so backends
    /// sharing a program must not step at the same time on different threads.
    /// </summary>
    public sealed class ClRuleProgram : IDisposable
    {
        /// <summary>Vector width the program is built with when the scalar kernels run (so the source and options, hence the cache entry, stay the same).</summary>
        private const int DefaultVectorWidth = 8;

        private readonly ClKernel[] _scalar;
        private readonly ClKernel[]? _vector;

        /// <summary>Builds <paramref name="rule"/>'s OpenCL C for <paramref name="queue"/>'s device.</summary>
        /// <param name="rule">The generated rule.</param>
        /// <param name="queue">The queue (and so the device and context) the kernels run on.</param>
        /// <param name="kernels">Scalar or vector kernels; <see cref="ClKernelShape.Auto"/> decides from the environment and the device.</param>
        /// <param name="vectorWidth">Width of the vector kernels (2, 4, 8, 16); 0 takes the device's preferred width.</param>
        public ClRuleProgram(FusedRule rule, ClQueue queue, ClKernelShape kernels = ClKernelShape.Auto, int vectorWidth = 0)
        {
            Rule = rule ?? throw new ArgumentNullException(nameof(rule));
            Queue = queue ?? throw new ArgumentNullException(nameof(queue));
            Schedule = rule.Schedule;
            Kernels = ClKernelChoice.Resolve(queue.Device, kernels, vectorWidth);
            // Both kernels of every pass are in the program; the build options only fix the vector width.
            var built = queue.Context.Programs.GetOrBuild(rule.OpenClSource ?? Emit(rule),
                OpenClRuleEmitter.BuildOptionsFor(Kernels.IsVector ? Kernels.VectorWidth : DefaultVectorWidth));
            Origin = built.Origin;
            var passes = Schedule.Passes;
            _scalar = passes.Select(p => built.Program.CreateKernel(OpenClRuleEmitter.KernelName(p.Index))).ToArray();
            if (Kernels.IsVector) _vector = passes.Select(p => built.Program.CreateKernel(OpenClRuleEmitter.VectorKernelName(p.Index))).ToArray();
            var main = _vector ?? _scalar;
            LocalSize = main.Length == 0 ? 1 : main.Min(ClElementwise.ChooseLocalSize);
            ScalarLocalSize = _scalar.Length == 0 ? 1 : _scalar.Min(ClElementwise.ChooseLocalSize);
            var support = queue.Context.Programs.Get(ClSupportKernels.Source);
            BlockReduce = support.CreateKernel("fused_block_reduce");
            if (passes.Any(p => p.RowWise))
            {
                RowReduce = support.CreateKernel("fused_row_block_reduce");
                // 16 columns per work-item beside the vector kernels (CPU devices), one beside the scalar ones.
                ColumnsPerItem = Kernels.IsVector ? 16 : 1;
                ColumnSums = support.CreateKernel(ColumnsPerItem == 16 ? "fused_column_sums16" : "fused_column_sums");
            }
        }

        /// <summary>The rule whose OpenCL C this program holds.</summary>
        public FusedRule Rule { get; }
        /// <summary>The queue (device) the program is built for.</summary>
        public ClQueue Queue { get; }
        /// <summary>The rule's schedule.</summary>
        public KernelSchedule Schedule { get; }

        /// <summary>Which kernels run (scalar or vector, the width) and why.</summary>
        public ClKernelChoice Kernels { get; }

        /// <summary>Work-group size of the main launch of every pass.</summary>
        public long LocalSize { get; }

        /// <summary>Work-group size of the scalar kernels (the whole pass, or the tail of each row of a row-wise pass).</summary>
        internal long ScalarLocalSize { get; }

        /// <summary>Where the rule's program came from: built now, loaded from the disk cache, or already in memory.</summary>
        public ProgramOrigin Origin { get; }

        internal ClKernel ScalarKernel(int pass) => _scalar[pass];

        /// <summary>Pass <paramref name="pass"/>'s vector kernel, or null when the scalar kernels run.</summary>
        internal ClKernel? VectorKernel(int pass) => _vector?[pass];

        internal ClKernel BlockReduce { get; }

        /// <summary>Row-wise reductions and column sums (null for rules without row-wise passes).</summary>
        internal ClKernel? RowReduce { get; }
        internal ClKernel? ColumnSums { get; }
        internal int ColumnsPerItem { get; }

        /// <summary>
        /// The OpenCL C of a rule built at run time: its program planned again (the plan its schedule was lowered from is
        /// not kept). Planning is deterministic; the check guards the kernels' argument order against a planner that is not.
        /// </summary>
        private static string Emit(FusedRule rule)
        {
            var plan = Planner.Plan(rule.Program);
            if (!ScheduleLowering.Lower(plan).Equals(rule.Schedule))
                throw new InvalidOperationException($"{rule.Name}: its program plans to another schedule than the rule's; OpenCL kernels emitted from it would not fit the schedule");
            return OpenClRuleEmitter.Emit(plan);
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            foreach (var k in _scalar) k.Dispose();
            if (_vector != null) foreach (var k in _vector) k.Dispose();
            BlockReduce.Dispose();
            RowReduce?.Dispose();
            ColumnSums?.Dispose();
        }
    }
}
