using System;
using System.Collections.Generic;
using System.Linq;
using Fused;
using Fused.Demo.Model;
using Fused.Runtime.Cpu;
using Fused.Runtime.Execution;
using Fused.Runtime.Matrix;
using Fused.Runtime.Schedules;

// The demo's optimizer plumbing, kept in this one file on purpose: the full optimizer engine (with
// parameter routing) will replace it. Everything the trainer needs is ITrainingOptimizer.
namespace Fused.Demo.Optimizers
{
    /// <summary>Updates a model's parameters from their gradients, one call per training step.</summary>
    public interface ITrainingOptimizer : IDisposable
    {
        string Name { get; }

        /// <summary>One-line description of what is applied to which tensor, with hyperparameters.</summary>
        string Description { get; }

        /// <summary>Applies step <paramref name="step"/> (counting from 1) to every parameter.</summary>
        void Step(long step);

        /// <summary>Optimizer-state bytes for the model, from the generated Layout constants × tensor sizes.</summary>
        long StateBytes { get; }

        /// <summary>Learning rate in force at <paramref name="step"/> (base × schedule).</summary>
        double LearningRateAt(long step);
    }

    /// <summary>What a registered optimizer needs to be built for one training run.</summary>
    public sealed record OptimizerContext(IReadOnlyList<Parameter> Parameters, long TotalSteps, WorkerPool Pool)
    {
        /// <summary>Linear warm-up over the first 5% of steps (at most 200), then cosine to 0: multiplied onto each base lr.</summary>
        public ISchedule LearningRateFactor =>
            Schedule.WarmupCosine(Math.Min(200, Math.Max(1, TotalSteps / 20)), Math.Max(1, TotalSteps));
    }

    /// <summary>A named recipe for an optimizer the demo can train with.</summary>
    public sealed record OptimizerRecipe(string Name, string Summary, Func<OptimizerContext, ITrainingOptimizer> Create);

    /// <summary>
    /// The optimizers `fused train --optimizers` accepts. Add new ones here (the lead adds C-AdamW,
    /// the cautious variant, once reductions land in the generator).
    /// </summary>
    public static class OptimizerRegistry
    {
        public static IReadOnlyList<OptimizerRecipe> All { get; } = new[]
        {
            new OptimizerRecipe("AdamW", "AdamW on every tensor, lr 1e-3, wd 0.01",
                c => new ElementwiseOptimizer("AdamW", CatalogRule.Named("AdamW"), c, ("lr", 1e-3), ("weightDecay", 0.01))),
            // Lion and Tiger take steps of ±lr per element: 3–10× smaller lr than AdamW, stronger decay (seed 003, ch. 7).
            new OptimizerRecipe("Lion", "Lion on every tensor, lr 2e-4, wd 0.1",
                c => new ElementwiseOptimizer("Lion", CatalogRule.Named("Lion"), c, ("lr", 2e-4), ("weightDecay", 0.1))),
            new OptimizerRecipe("Tiger", "Tiger on every tensor, lr 2e-4, wd 0.1",
                c => new ElementwiseOptimizer("Tiger", CatalogRule.Named("Tiger"), c, ("lr", 2e-4), ("weightDecay", 0.1))),
            new OptimizerRecipe("SGD-Momentum", "heavy-ball SGD on every tensor, lr 0.02, β 0.9 (baseline)",
                c => new ElementwiseOptimizer("SGD-Momentum", CatalogRule.Named("SGD-Momentum"), c, ("lr", 0.02), ("beta", 0.9))),
            new OptimizerRecipe("Muon+AdamW", "Muon on the hidden weight matrices, AdamW on the output layer and biases",
                c => new MuonWithAdamW(c)),
            // Further catalog rules, off by default: pass them to --optimizers.
            new OptimizerRecipe("Adam", "Adam (L2 decay folded into the gradient), lr 1e-3",
                c => new ElementwiseOptimizer("Adam", CatalogRule.Named("Adam"), c, ("lr", 1e-3))),
            new OptimizerRecipe("ADOPT", "ADOPT on every tensor, lr 1e-3",
                c => new ElementwiseOptimizer("ADOPT", CatalogRule.Named("ADOPT"), c, ("lr", 1e-3))),
            new OptimizerRecipe("RMSprop", "RMSprop on every tensor, lr 5e-4",
                c => new ElementwiseOptimizer("RMSprop", CatalogRule.Named("RMSprop"), c, ("lr", 5e-4))),
            new OptimizerRecipe("SGD", "plain SGD on every tensor, lr 0.1",
                c => new ElementwiseOptimizer("SGD", CatalogRule.Named("SGD"), c, ("lr", 0.1))),
            new OptimizerRecipe("Nesterov", "Nesterov momentum on every tensor, lr 0.02",
                c => new ElementwiseOptimizer("Nesterov", CatalogRule.Named("Nesterov"), c, ("lr", 0.02))),
            new OptimizerRecipe("AdaGrad", "AdaGrad on every tensor, lr 0.01",
                c => new ElementwiseOptimizer("AdaGrad", CatalogRule.Named("AdaGrad"), c, ("lr", 0.01))),
            new OptimizerRecipe("SignSGD", "SignSGD on every tensor, lr 1e-4",
                c => new ElementwiseOptimizer("SignSGD", CatalogRule.Named("SignSGD"), c, ("lr", 1e-4))),
        };

        /// <summary>What `fused train` runs when --optimizers is not given.</summary>
        public static IReadOnlyList<string> DefaultNames { get; } = new[] { "AdamW", "Lion", "Tiger", "SGD-Momentum", "Muon+AdamW" };

        public static OptimizerRecipe Named(string name)
            => All.FirstOrDefault(r => string.Equals(r.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
               ?? throw new ArgumentException($"unknown optimizer '{name.Trim()}'; choose from {string.Join(", ", All.Select(r => r.Name))}");
    }

    /// <summary>
    /// One generated element-wise rule applied to a set of tensors with <see cref="CpuRuleRunner"/>, each
    /// tensor with its own zero-initialised state buffers. The lr hyperparameter follows the schedule.
    /// </summary>
    public sealed class ElementwiseOptimizer : ITrainingOptimizer
    {
        private readonly CatalogRule _rule;
        private readonly CpuRuleRunner _runner;
        private readonly IReadOnlyList<Parameter> _parameters;
        private readonly float[][][] _buffers;
        private readonly float[] _hypers;
        private readonly double _baseLr;
        private readonly int _lrIndex;
        private readonly ISchedule _factor;

        public ElementwiseOptimizer(string name, CatalogRule rule, OptimizerContext context, params (string Name, double Value)[] hypers)
            : this(name, rule, context.Parameters, context, hypers)
        {
        }

        /// <summary>Applies the rule to <paramref name="parameters"/> only (a subset of the context's).</summary>
        public ElementwiseOptimizer(string name, CatalogRule rule, IReadOnlyList<Parameter> parameters, OptimizerContext context, params (string Name, double Value)[] hypers)
        {
            Name = name;
            _rule = rule;
            _parameters = parameters;
            _runner = new CpuRuleRunner(rule.Rule, context.Pool);
            _hypers = rule.Rule.DefaultHyperparameters();
            foreach (var (hyperName, value) in hypers)
            {
                int index = rule.HyperIndex(hyperName);
                if (index < 0) throw new ArgumentException($"{rule.Name} has no hyperparameter '{hyperName}'");
                _hypers[index] = (float)value;
            }

            _lrIndex = rule.HyperIndex("lr");
            if (_lrIndex < 0) throw new ArgumentException($"{rule.Name} has no 'lr' hyperparameter to schedule");
            _baseLr = _hypers[_lrIndex];
            _factor = context.LearningRateFactor;
            int stateCount = rule.Rule.BufferCount - 2;
            _buffers = parameters.Select(p =>
            {
                var buffers = new float[2 + stateCount][];
                buffers[0] = p.Value;
                buffers[1] = p.Gradient;
                for (int s = 0; s < stateCount; s++) buffers[2 + s] = new float[p.Count];
                return buffers;
            }).ToArray();
            Description = $"{rule.Name} ({string.Join(", ", rule.Rule.Hyperparameters.Select((h, i) => $"{h.Name} {_hypers[i]:G3}"))}) on {string.Join(", ", parameters.Select(p => p.Name))}";
        }

        public string Name { get; }
        public string Description { get; }

        public long StateBytes => (long)_rule.StateBytesPerParameter * _parameters.Sum(p => (long)p.Count);

        public double LearningRateAt(long step) => _baseLr * _factor.ValueAt(step);

        public void Step(long step)
        {
            _hypers[_lrIndex] = (float)LearningRateAt(step);
            for (int i = 0; i < _parameters.Count; i++)
            {
                var p = _parameters[i];
                var shape = p.IsMatrix ? ShapeInfo.Matrix(p.Rows, p.Cols) : ShapeInfo.Vector(p.Count);
                _runner.Step(_hypers, step, shape, _buffers[i]);
            }
        }

        public void Dispose() => _runner.Dispose();
    }

    /// <summary>
    /// Muon on the hidden 2-D weight matrices, AdamW on everything else (output layer, biases), as the
    /// seeds prescribe. Muon step: m ← β·m + g; u = g + β·m (Nesterov); O = NewtonSchulz(u) (5 steps,
    /// Muon's coefficients); W ← W − lr·(0.2·√max(rows, cols)·O + wd·W). The 0.2·√max scaling
    /// (Moonshot) gives O the RMS of an AdamW update, so AdamW's lr carries over.
    /// </summary>
    public sealed class MuonWithAdamW : ITrainingOptimizer
    {
        public const double Beta = 0.95;
        public const double BaseLr = 2e-3;
        public const double WeightDecay = 0.01;

        /// <summary>Muon keeps one float32 momentum buffer per matrix element.</summary>
        public const int MuonStateBytesPerParameter = 4;

        private readonly Parameter[] _hidden;
        private readonly float[][] _momentum;
        private readonly float[][] _update;
        private readonly ElementwiseOptimizer _adamW;
        private readonly ISchedule _factor;

        public MuonWithAdamW(OptimizerContext context)
        {
            // Hidden matrices: every weight matrix but the last (the classifier head) — the seeds' routing rule.
            var matrices = context.Parameters.Where(p => p.IsMatrix).ToArray();
            _hidden = matrices.Take(matrices.Length - 1).ToArray();
            var rest = context.Parameters.Where(p => !_hidden.Contains(p)).ToArray();
            _momentum = _hidden.Select(p => new float[p.Count]).ToArray();
            _update = _hidden.Select(p => new float[p.Count]).ToArray();
            _adamW = new ElementwiseOptimizer("AdamW", CatalogRule.Named("AdamW"), rest, context, ("lr", 1e-3), ("weightDecay", 0.01));
            _factor = context.LearningRateFactor;
            Description = $"Muon (lr {BaseLr:G3}, β {Beta}, Nesterov, 5 Newton-Schulz steps) on {string.Join(", ", _hidden.Select(p => p.Name))}; {_adamW.Description}";
        }

        public string Name => "Muon+AdamW";
        public string Description { get; }

        public IReadOnlyList<Parameter> MuonParameters => _hidden;

        public long StateBytes => MuonStateBytesPerParameter * _hidden.Sum(p => (long)p.Count) + _adamW.StateBytes;

        public double LearningRateAt(long step) => BaseLr * _factor.ValueAt(step);

        public void Step(long step)
        {
            float lr = (float)LearningRateAt(step);
            float beta = (float)Beta;
            for (int i = 0; i < _hidden.Length; i++)
            {
                var p = _hidden[i];
                var m = _momentum[i];
                var u = _update[i];
                var g = p.Gradient;
                for (int j = 0; j < m.Length; j++)
                {
                    m[j] = beta * m[j] + g[j];
                    u[j] = g[j] + beta * m[j];
                }

                NewtonSchulz.Orthogonalize(u, p.Rows, p.Cols, u);
                float scale = lr * 0.2f * MathF.Sqrt(Math.Max(p.Rows, p.Cols));
                float decay = 1f - lr * (float)WeightDecay;
                var w = p.Value;
                for (int j = 0; j < w.Length; j++) w[j] = w[j] * decay - scale * u[j];
            }

            _adamW.Step(step);
        }

        public void Dispose() => _adamW.Dispose();
    }
}
