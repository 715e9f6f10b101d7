using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Kernels;

namespace Fused.Catalog.Tests
{
    // Delegate shapes of the generated entry points, by number of buffers (param, grad, states...).
    public delegate int Vec2(ReadOnlySpan<float> u, Span<float> p, ReadOnlySpan<float> g);
    public delegate void Run2(ReadOnlySpan<float> u, Span<float> p, ReadOnlySpan<float> g);
    public delegate int Vec3(ReadOnlySpan<float> u, Span<float> p, ReadOnlySpan<float> g, Span<float> s0);
    public delegate void Run3(ReadOnlySpan<float> u, Span<float> p, ReadOnlySpan<float> g, Span<float> s0);
    public delegate int Vec4(ReadOnlySpan<float> u, Span<float> p, ReadOnlySpan<float> g, Span<float> s0, Span<float> s1);
    public delegate void Run4(ReadOnlySpan<float> u, Span<float> p, ReadOnlySpan<float> g, Span<float> s0, Span<float> s1);

    /// <summary>The generated static <c>ComputeUniforms</c> of a rule class (the C# the generator emitted for the hand path).</summary>
    public delegate void GeneratedUniforms(int level, ReadOnlySpan<float> hypers, long step, ShapeInfo shape, ReadOnlySpan<float> scalars, Span<double> uniforms);

    /// <summary>Which generated entry point to call.</summary>
    public enum KernelPath { Dispatch, Vector512, Vector256, Vector128, Scalar }

    /// <summary>
    /// Calls one generated entry point of a rule on float[] buffers (param, grad, states) sliced to
    /// [offset, offset + length). A vector path processes a prefix and the scalar path finishes the
    /// tail, as the dispatching Pass0 does.
    /// </summary>
    public sealed class RuleKernels
    {
        private readonly Func<KernelPath, float[], float[][], int, int, int> _run;

        private RuleKernels(Func<KernelPath, float[], float[][], int, int, int> run) { _run = run; }

        /// <summary>Runs the path; returns how many leading elements the vector path processed (length for scalar/dispatch).</summary>
        public int Run(KernelPath path, float[] uniforms, float[][] buffers, int offset, int length) =>
            _run(path, uniforms, buffers, offset, length);

        public static RuleKernels Of(Run2 pass0, Vec2 v512, Vec2 v256, Vec2 v128, Run2 scalar) =>
            new RuleKernels((path, u, b, o, n) =>
            {
                if (path == KernelPath.Dispatch) { pass0(u, b[0].AsSpan(o, n), b[1].AsSpan(o, n)); return n; }
                if (path == KernelPath.Scalar) { scalar(u, b[0].AsSpan(o, n), b[1].AsSpan(o, n)); return n; }
                var vec = path == KernelPath.Vector512 ? v512 : path == KernelPath.Vector256 ? v256 : v128;
                int done = vec(u, b[0].AsSpan(o, n), b[1].AsSpan(o, n));
                scalar(u, b[0].AsSpan(o + done, n - done), b[1].AsSpan(o + done, n - done));
                return done;
            });

        public static RuleKernels Of(Run3 pass0, Vec3 v512, Vec3 v256, Vec3 v128, Run3 scalar) =>
            new RuleKernels((path, u, b, o, n) =>
            {
                if (path == KernelPath.Dispatch) { pass0(u, b[0].AsSpan(o, n), b[1].AsSpan(o, n), b[2].AsSpan(o, n)); return n; }
                if (path == KernelPath.Scalar) { scalar(u, b[0].AsSpan(o, n), b[1].AsSpan(o, n), b[2].AsSpan(o, n)); return n; }
                var vec = path == KernelPath.Vector512 ? v512 : path == KernelPath.Vector256 ? v256 : v128;
                int done = vec(u, b[0].AsSpan(o, n), b[1].AsSpan(o, n), b[2].AsSpan(o, n));
                int r = n - done, s = o + done;
                scalar(u, b[0].AsSpan(s, r), b[1].AsSpan(s, r), b[2].AsSpan(s, r));
                return done;
            });

        public static RuleKernels Of(Run4 pass0, Vec4 v512, Vec4 v256, Vec4 v128, Run4 scalar) =>
            new RuleKernels((path, u, b, o, n) =>
            {
                if (path == KernelPath.Dispatch) { pass0(u, b[0].AsSpan(o, n), b[1].AsSpan(o, n), b[2].AsSpan(o, n), b[3].AsSpan(o, n)); return n; }
                if (path == KernelPath.Scalar) { scalar(u, b[0].AsSpan(o, n), b[1].AsSpan(o, n), b[2].AsSpan(o, n), b[3].AsSpan(o, n)); return n; }
                var vec = path == KernelPath.Vector512 ? v512 : path == KernelPath.Vector256 ? v256 : v128;
                int done = vec(u, b[0].AsSpan(o, n), b[1].AsSpan(o, n), b[2].AsSpan(o, n), b[3].AsSpan(o, n));
                int r = n - done, s = o + done;
                scalar(u, b[0].AsSpan(s, r), b[1].AsSpan(s, r), b[2].AsSpan(s, r), b[3].AsSpan(s, r));
                return done;
            });
    }

    /// <summary>
    /// A float64 reference step, in place. buffers = param, grad, states (in the rule's declared state
    /// order); hyperSet 0 = defaults, 1 = custom: the reference reads them by name from the generated
    /// Hyperparameters struct (not by array index), widened from float32 to double; t starts at 1. For sign-based
    /// rules <paramref name="tie"/> (may be null) is set for elements whose sign argument is a near tie.
    /// </summary>
    public delegate void ReferenceStep(double[][] buffers, int hyperSet, int t, bool[]? tie);

    /// <summary>One catalog rule as the tests see it: generated handle, kernels, reference, hyperparameter sets.</summary>
    public sealed class RuleSpec
    {
        public RuleSpec(string name, FusedRule rule, int stateCount, RuleKernels kernels, ReferenceStep reference,
            float[] defaults, float[] custom, bool signBased)
        {
            Name = name;
            Rule = rule;
            StateCount = stateCount;
            Kernels = kernels;
            Reference = reference;
            Defaults = defaults;
            Custom = custom;
            SignBased = signBased;
        }

        public string Name { get; }
        public FusedRule Rule { get; }
        public int StateCount { get; }
        public int BufferCount => 2 + StateCount;
        public RuleKernels Kernels { get; }
        public ReferenceStep Reference { get; }
        /// <summary>The rule's declared defaults (Hyperparameters struct, default constructor).</summary>
        public float[] Defaults { get; }
        /// <summary>A non-default set: larger lr, nonzero weight decay where the rule has one, other betas.</summary>
        public float[] Custom { get; }
        public bool SignBased { get; }

        public float[] Hypers(int set) => set == 0 ? Defaults : Custom;

        /// <summary>Uniforms of the step, computed in float64 by the generated code and rounded to float32.</summary>
        public float[] Uniforms(float[] hypers, long step, int length, int level = 0)
        {
            var u = new double[Rule.UniformCount];
            ComputeUniforms(level, hypers, step, ShapeInfo.Vector(length), ReadOnlySpan<float>.Empty, u);
            return u.Select(d => (float)d).ToArray();
        }

        /// <summary>The rule class's generated <c>ComputeUniforms</c> (the runtime computes uniforms from the schedule instead).</summary>
        public GeneratedUniforms ComputeUniforms => _computeUniforms ??= GeneratedUniformsOf(Rule);
        private GeneratedUniforms? _computeUniforms;

        /// <summary>The generated handle is nested in the rule class, which declares the static method.</summary>
        public static GeneratedUniforms GeneratedUniformsOf(FusedRule rule)
        {
            var owner = rule.GetType().DeclaringType ?? throw new InvalidOperationException($"{rule.Name} is not a generated rule");
            var method = owner.GetMethod("ComputeUniforms", new[] { typeof(int), typeof(ReadOnlySpan<float>), typeof(long), typeof(ShapeInfo), typeof(ReadOnlySpan<float>), typeof(Span<double>) })
                ?? throw new InvalidOperationException($"{owner.Name} has no generated ComputeUniforms");
            return (GeneratedUniforms)Delegate.CreateDelegate(typeof(GeneratedUniforms), method);
        }

        public override string ToString() => Name;
    }

    public static class Catalog
    {
        private static RuleSpec Make<H>(string name, FusedRule rule, int states, RuleKernels kernels, bool signBased,
            H defaults, H custom, Func<H, float[]> toArray, Action<double[][], H, int, bool[]?> reference) =>
            new RuleSpec(name, rule, states, kernels,
                (b, set, t, tie) => reference(b, set == 0 ? defaults : custom, t, tie),
                toArray(defaults), toArray(custom), signBased);

        public static readonly RuleSpec[] All =
        {
            Make("SGD", Sgd.Rule, 0,
                RuleKernels.Of(Sgd.Pass0, Sgd.Pass0Vector512, Sgd.Pass0Vector256, Sgd.Pass0Vector128, Sgd.Pass0Scalar), false,
                new Sgd.Hyperparameters(), new Sgd.Hyperparameters { Lr = 0.1f }, h => h.ToArray(),
                (b, h, t, tie) => References.SgdRef(b[0], b[1], h.Lr)),
            Make("SgdMomentum", SgdMomentum.Rule, 1,
                RuleKernels.Of(SgdMomentum.Pass0, SgdMomentum.Pass0Vector512, SgdMomentum.Pass0Vector256, SgdMomentum.Pass0Vector128, SgdMomentum.Pass0Scalar), false,
                new SgdMomentum.Hyperparameters(), new SgdMomentum.Hyperparameters { Lr = 0.003f, Beta = 0.95f }, h => h.ToArray(),
                (b, h, t, tie) => References.SgdMomentumRef(b[0], b[1], b[2], h.Lr, h.Beta)),
            Make("Nesterov", Nesterov.Rule, 1,
                RuleKernels.Of(Nesterov.Pass0, Nesterov.Pass0Vector512, Nesterov.Pass0Vector256, Nesterov.Pass0Vector128, Nesterov.Pass0Scalar), false,
                new Nesterov.Hyperparameters(), new Nesterov.Hyperparameters { Lr = 0.003f, Beta = 0.8f }, h => h.ToArray(),
                (b, h, t, tie) => References.NesterovRef(b[0], b[1], b[2], h.Lr, h.Beta)),
            Make("AdaGrad", AdaGrad.Rule, 1,
                RuleKernels.Of(AdaGrad.Pass0, AdaGrad.Pass0Vector512, AdaGrad.Pass0Vector256, AdaGrad.Pass0Vector128, AdaGrad.Pass0Scalar), false,
                new AdaGrad.Hyperparameters(), new AdaGrad.Hyperparameters { Lr = 0.05f, Eps = 1e-6f }, h => h.ToArray(),
                (b, h, t, tie) => References.AdaGradRef(b[0], b[1], b[2], h.Lr, h.Eps)),
            Make("RmsProp", RmsProp.Rule, 1,
                RuleKernels.Of(RmsProp.Pass0, RmsProp.Pass0Vector512, RmsProp.Pass0Vector256, RmsProp.Pass0Vector128, RmsProp.Pass0Scalar), false,
                new RmsProp.Hyperparameters(), new RmsProp.Hyperparameters { Lr = 0.01f, Beta2 = 0.9f, Eps = 1e-6f }, h => h.ToArray(),
                (b, h, t, tie) => References.RmsPropRef(b[0], b[1], b[2], h.Lr, h.Beta2, h.Eps)),
            Make("Adam", Adam.Rule, 2,
                RuleKernels.Of(Adam.Pass0, Adam.Pass0Vector512, Adam.Pass0Vector256, Adam.Pass0Vector128, Adam.Pass0Scalar), false,
                new Adam.Hyperparameters(),
                new Adam.Hyperparameters { Lr = 0.01f, Beta1 = 0.8f, Beta2 = 0.99f, Eps = 1e-6f, WeightDecay = 0.05f }, h => h.ToArray(),
                (b, h, t, tie) => References.AdamL2Ref(b[0], b[1], b[2], b[3], h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, t)),
            Make("AdamW", AdamW.Rule, 2,
                RuleKernels.Of(AdamW.Pass0, AdamW.Pass0Vector512, AdamW.Pass0Vector256, AdamW.Pass0Vector128, AdamW.Pass0Scalar), false,
                new AdamW.Hyperparameters(),
                new AdamW.Hyperparameters { Lr = 0.01f, Beta1 = 0.85f, Beta2 = 0.98f, Eps = 1e-6f, WeightDecay = 0.1f }, h => h.ToArray(),
                (b, h, t, tie) => References.AdamWRef(b[0], b[1], b[2], b[3], h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, t)),
            Make("SignSgd", SignSgd.Rule, 0,
                RuleKernels.Of(SignSgd.Pass0, SignSgd.Pass0Vector512, SignSgd.Pass0Vector256, SignSgd.Pass0Vector128, SignSgd.Pass0Scalar), true,
                new SignSgd.Hyperparameters(), new SignSgd.Hyperparameters { Lr = 0.01f }, h => h.ToArray(),
                (b, h, t, tie) => References.SignSgdRef(b[0], b[1], h.Lr, tie)),
            Make("Lion", Lion.Rule, 1,
                RuleKernels.Of(Lion.Pass0, Lion.Pass0Vector512, Lion.Pass0Vector256, Lion.Pass0Vector128, Lion.Pass0Scalar), true,
                new Lion.Hyperparameters(),
                new Lion.Hyperparameters { Lr = 0.01f, Beta1 = 0.95f, Beta2 = 0.98f, WeightDecay = 0.1f }, h => h.ToArray(),
                (b, h, t, tie) => References.LionRef(b[0], b[1], b[2], h.Lr, h.Beta1, h.Beta2, h.WeightDecay, tie)),
            Make("Tiger", Tiger.Rule, 1,
                RuleKernels.Of(Tiger.Pass0, Tiger.Pass0Vector512, Tiger.Pass0Vector256, Tiger.Pass0Vector128, Tiger.Pass0Scalar), true,
                new Tiger.Hyperparameters(), new Tiger.Hyperparameters { Lr = 0.01f, Beta = 0.9f, WeightDecay = 0.1f }, h => h.ToArray(),
                (b, h, t, tie) => References.TigerRef(b[0], b[1], b[2], h.Lr, h.Beta, h.WeightDecay, tie)),
            Make("Adopt", Adopt.Rule, 2,
                RuleKernels.Of(Adopt.Pass0, Adopt.Pass0Vector512, Adopt.Pass0Vector256, Adopt.Pass0Vector128, Adopt.Pass0Scalar), false,
                new Adopt.Hyperparameters(),
                new Adopt.Hyperparameters { Lr = 0.01f, Beta1 = 0.8f, Beta2 = 0.99f, Eps = 1e-4f, WeightDecay = 0.1f }, h => h.ToArray(),
                (b, h, t, tie) => References.AdoptRef(b[0], b[1], b[2], b[3], h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, t)),
        };

        public static RuleSpec Get(string name) => All.Single(r => r.Name == name);

        public static IEnumerable<object[]> Names => All.Select(r => new object[] { r.Name });

        public static IEnumerable<object[]> NamesAndHyperSets =>
            All.SelectMany(r => new[] { new object[] { r.Name, 0 }, new object[] { r.Name, 1 } });
    }
}
