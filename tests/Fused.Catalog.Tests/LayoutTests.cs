using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace Fused.Catalog.Tests
{
    /// <summary>
    /// Memory costs derived from the seeds' definitions: each optimizer keeps k float32 buffers per
    /// parameter (seed 000: "two FP32 tensors per model parameter (m and v)" for AdamW, "1 buffer" for
    /// SGD-momentum and Lion; seed 003: none for SGD and SignSGD, G for AdaGrad, v for RMSprop; seed 001:
    /// Tiger keeps m only). One fused element-wise pass reads θ, g and the k states and writes θ and the
    /// k states back: 4·(2 + k) + 4·(1 + k) bytes per parameter per step.
    /// </summary>
    public sealed class LayoutTests
    {
        public sealed record Facts(int StateBufferCount, string StateNames, int StateBytes, int PassCount, int BytesMoved, int BufferCount, int UniformCount);

        private static readonly Dictionary<string, Facts> Generated = new Dictionary<string, Facts>
        {
            ["SGD"] = new Facts(Sgd.Layout.StateBufferCount, Sgd.Layout.StateBufferNames, Sgd.Layout.StateBytesPerParameter, Sgd.Layout.PassCount, Sgd.Layout.BytesMovedPerParameter, Sgd.Layout.BufferCount, Sgd.Layout.UniformCount),
            ["SgdMomentum"] = new Facts(SgdMomentum.Layout.StateBufferCount, SgdMomentum.Layout.StateBufferNames, SgdMomentum.Layout.StateBytesPerParameter, SgdMomentum.Layout.PassCount, SgdMomentum.Layout.BytesMovedPerParameter, SgdMomentum.Layout.BufferCount, SgdMomentum.Layout.UniformCount),
            ["Nesterov"] = new Facts(Nesterov.Layout.StateBufferCount, Nesterov.Layout.StateBufferNames, Nesterov.Layout.StateBytesPerParameter, Nesterov.Layout.PassCount, Nesterov.Layout.BytesMovedPerParameter, Nesterov.Layout.BufferCount, Nesterov.Layout.UniformCount),
            ["AdaGrad"] = new Facts(AdaGrad.Layout.StateBufferCount, AdaGrad.Layout.StateBufferNames, AdaGrad.Layout.StateBytesPerParameter, AdaGrad.Layout.PassCount, AdaGrad.Layout.BytesMovedPerParameter, AdaGrad.Layout.BufferCount, AdaGrad.Layout.UniformCount),
            ["RmsProp"] = new Facts(RmsProp.Layout.StateBufferCount, RmsProp.Layout.StateBufferNames, RmsProp.Layout.StateBytesPerParameter, RmsProp.Layout.PassCount, RmsProp.Layout.BytesMovedPerParameter, RmsProp.Layout.BufferCount, RmsProp.Layout.UniformCount),
            ["Adam"] = new Facts(Adam.Layout.StateBufferCount, Adam.Layout.StateBufferNames, Adam.Layout.StateBytesPerParameter, Adam.Layout.PassCount, Adam.Layout.BytesMovedPerParameter, Adam.Layout.BufferCount, Adam.Layout.UniformCount),
            ["AdamW"] = new Facts(AdamW.Layout.StateBufferCount, AdamW.Layout.StateBufferNames, AdamW.Layout.StateBytesPerParameter, AdamW.Layout.PassCount, AdamW.Layout.BytesMovedPerParameter, AdamW.Layout.BufferCount, AdamW.Layout.UniformCount),
            ["SignSgd"] = new Facts(SignSgd.Layout.StateBufferCount, SignSgd.Layout.StateBufferNames, SignSgd.Layout.StateBytesPerParameter, SignSgd.Layout.PassCount, SignSgd.Layout.BytesMovedPerParameter, SignSgd.Layout.BufferCount, SignSgd.Layout.UniformCount),
            ["Lion"] = new Facts(Lion.Layout.StateBufferCount, Lion.Layout.StateBufferNames, Lion.Layout.StateBytesPerParameter, Lion.Layout.PassCount, Lion.Layout.BytesMovedPerParameter, Lion.Layout.BufferCount, Lion.Layout.UniformCount),
            ["Tiger"] = new Facts(Tiger.Layout.StateBufferCount, Tiger.Layout.StateBufferNames, Tiger.Layout.StateBytesPerParameter, Tiger.Layout.PassCount, Tiger.Layout.BytesMovedPerParameter, Tiger.Layout.BufferCount, Tiger.Layout.UniformCount),
            ["Adopt"] = new Facts(Adopt.Layout.StateBufferCount, Adopt.Layout.StateBufferNames, Adopt.Layout.StateBytesPerParameter, Adopt.Layout.PassCount, Adopt.Layout.BytesMovedPerParameter, Adopt.Layout.BufferCount, Adopt.Layout.UniformCount),
        };

        /// <summary>Per-parameter float32 state each optimizer needs, from the seeds' formulas.</summary>
        private static readonly Dictionary<string, string[]> StatesFromSeeds = new Dictionary<string, string[]>
        {
            ["SGD"] = new string[0],
            ["SgdMomentum"] = new[] { "momentum" },
            ["Nesterov"] = new[] { "momentum" },
            ["AdaGrad"] = new[] { "sumSquares" },
            ["RmsProp"] = new[] { "v" },
            ["Adam"] = new[] { "m", "v" },
            ["AdamW"] = new[] { "m", "v" },
            ["SignSgd"] = new string[0],
            ["Lion"] = new[] { "momentum" },
            ["Tiger"] = new[] { "momentum" },
            ["Adopt"] = new[] { "m", "v" },
        };

        public static IEnumerable<object[]> Names => Catalog.Names;

        private static int StateBytes(int k) => 4 * k;                      // fp32 per state buffer
        private static int BytesMoved(int k) => 4 * (2 + k) + 4 * (1 + k);  // read θ, g, states; write θ, states

        [Fact]
        public void SpotValuesFromTheBrief()
        {
            // AdamW: m and v in fp32 = 8 bytes of state; θ, g, m, v read and θ, m, v written = 28 bytes.
            Assert.Equal((8, 28), (StateBytes(2), BytesMoved(2)));
            Assert.Equal((4, 20), (StateBytes(1), BytesMoved(1)));
            Assert.Equal((0, 12), (StateBytes(0), BytesMoved(0)));
            Assert.Equal((StateBytes(2), BytesMoved(2)), (AdamW.Layout.StateBytesPerParameter, AdamW.Layout.BytesMovedPerParameter));
            Assert.Equal((StateBytes(1), BytesMoved(1)), (Lion.Layout.StateBytesPerParameter, Lion.Layout.BytesMovedPerParameter));
            Assert.Equal((StateBytes(0), BytesMoved(0)), (Sgd.Layout.StateBytesPerParameter, Sgd.Layout.BytesMovedPerParameter));
            Assert.Equal((StateBytes(1), BytesMoved(1)), (Tiger.Layout.StateBytesPerParameter, Tiger.Layout.BytesMovedPerParameter));
            // Seed 000: Lion's state is half of AdamW's.
            Assert.Equal(2 * Lion.Layout.StateBytesPerParameter, AdamW.Layout.StateBytesPerParameter);
        }

        [Theory]
        [MemberData(nameof(Names))]
        public void LayoutMatchesTheSeedsAndThePlan(string rule)
        {
            var states = StatesFromSeeds[rule];
            int k = states.Length;
            var g = Generated[rule];
            var spec = Catalog.Get(rule);
            Assert.Equal(k, g.StateBufferCount);
            Assert.Equal(string.Join(",", states), g.StateNames);
            Assert.Equal(StateBytes(k), g.StateBytes);
            Assert.Equal(1, g.PassCount); // element-wise rules fuse into one pass
            Assert.Equal(BytesMoved(k), g.BytesMoved);
            Assert.Equal(2 + k, g.BufferCount);
            // The constants agree with the runtime's view of the same rule.
            Assert.Equal(g.UniformCount, spec.Rule.UniformCount);
            Assert.Equal(g.BufferCount, spec.Rule.BufferCount);
            Assert.Equal(g.PassCount, spec.Rule.PassCount);
            Assert.Equal(g.BytesMoved, spec.Rule.Layout.BytesMovedPerParameter);
            Assert.Equal(states, spec.Rule.States.Select(s => s.Name).ToArray());
        }

        public static IEnumerable<object[]> RegistryRules() => CatalogRules.All.Select(r => new object[] { r.Name });

        /// <summary>
        /// The generated Layout constants (written at compile time from the plan) and the runtime's RuleLayout (read from
        /// the loaded schedule) are the same facts: every constant, by name, for every rule of the registry.
        /// </summary>
        [Theory]
        [MemberData(nameof(RegistryRules))]
        public void Generated_layout_constants_equal_the_schedules_layout(string name)
        {
            var rule = CatalogRules.All.Single(r => r.Name == name);
            var layoutType = rule.GetType().DeclaringType!.GetNestedType("Layout")!;
            var runtime = rule.Layout;
            int compared = 0;
            foreach (var field in layoutType.GetFields().Where(f => f.IsLiteral))
            {
                var property = typeof(Fused.Ir.RuleLayout).GetProperty(field.Name);
                if (property == null) continue; // one constant per state name: checked below
                object? value = property.GetValue(runtime);
                object? constant = field.GetValue(null);
                if (value is IReadOnlyList<string> names) value = string.Join(",", names);
                Assert.True(Equals(constant, value), $"{name}: Layout.{field.Name} = {constant}, schedule says {value}");
                compared++;
            }
            Assert.True(compared >= 14, $"{name}: only {compared} constants compared");
            Assert.Equal(runtime.StateBufferNames, rule.States.Select(s => s.Name));
        }

        [Fact]
        public void DefaultsAreTheSeedsDefaults()
        {
            // Seed 003 ch. 3: "β₁=0.9, β₂=0.999, ε=10⁻⁸" for Adam; ch. 7: Lion "β₁ = 0.9, β₂ = 0.99";
            // ch. 2: momentum "a typical default is 0.9". ADOPT: the authors' betas (0.9, 0.9999), ε = 1e-6.
            var adamW = new AdamW.Hyperparameters();
            Assert.Equal((0.9f, 0.999f, 1e-8f), (adamW.Beta1, adamW.Beta2, adamW.Eps));
            var adam = new Adam.Hyperparameters();
            Assert.Equal((0.9f, 0.999f, 1e-8f, 0f), (adam.Beta1, adam.Beta2, adam.Eps, adam.WeightDecay));
            var lion = new Lion.Hyperparameters();
            Assert.Equal((0.9f, 0.99f), (lion.Beta1, lion.Beta2));
            Assert.Equal(0.9f, new SgdMomentum.Hyperparameters().Beta);
            var adopt = new Adopt.Hyperparameters();
            Assert.Equal((0.9f, 0.9999f, 1e-6f), (adopt.Beta1, adopt.Beta2, adopt.Eps));
        }

        [Theory]
        [MemberData(nameof(Names))]
        public void HyperparameterArrayOrderIsTheRulesDeclarationOrder(string rule)
        {
            var spec = Catalog.Get(rule);
            // The array the kernels get (Hyperparameters.ToArray) is in the order of the IR's hyper
            // declarations, whose defaults it must reproduce.
            Assert.Equal(spec.Rule.DefaultHyperparameters(), spec.Defaults);
            Assert.Equal(spec.Rule.Hyperparameters.Count, spec.Defaults.Length);
        }
    }
}
