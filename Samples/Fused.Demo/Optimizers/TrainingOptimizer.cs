using System;
using System.Collections.Generic;
using System.Linq;
using Fused;
using Fused.Demo.Model;
using Fused.Runtime.Execution;
using Fused.Runtime.Schedules;

// The demo's optimizer plumbing, kept in this one file on purpose: recipes over the runtime's optimizer
// engine. Everything the trainer needs is ITrainingOptimizer.
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

        /// <summary>Optimizer-state bytes for the model as allocated (element states per the generated Layout, row/column and scalar states).</summary>
        long StateBytes { get; }

        /// <summary>Learning rate in force at <paramref name="step"/> (base × schedule).</summary>
        double LearningRateAt(long step);
    }

    /// <summary>What a registered optimizer needs to be built for one training run.</summary>
    public sealed record OptimizerContext(IReadOnlyList<Parameter> Parameters, long TotalSteps, WorkerPool Pool)
    {
        /// <summary>Set under `mpirun --distributed`: the engine is a ZeRO-1 <see cref="Fused.Distributed.ShardedOptimizer"/> over these ranks.</summary>
        public Fused.Demo.Training.DataParallel? Parallel { get; init; }

        /// <summary>Linear warm-up over the first 5% of steps (at most 200), then cosine to 0: multiplied onto each base lr.</summary>
        public ISchedule LearningRateFactor => LearningRateFactorFor(TotalSteps);

        /// <summary>The schedule factor of a run of <paramref name="totalSteps"/> steps (the report draws it).</summary>
        public static ISchedule LearningRateFactorFor(long totalSteps) =>
            Schedule.WarmupCosine(Math.Min(200, Math.Max(1, totalSteps / 20)), Math.Max(1, totalSteps));
    }

    /// <summary>A named recipe for an optimizer the demo can train with.</summary>
    public sealed record OptimizerRecipe(string Name, string Summary, Func<OptimizerContext, ITrainingOptimizer> Create);

    /// <summary>The optimizers `fused train --optimizers` accepts. Add new ones here.</summary>
    public static class OptimizerRegistry
    {
        private static EngineOptimizer AllTensors(string name, string rule, OptimizerContext c, params (string Name, float Value)[] hypers) =>
            new EngineOptimizer(name, c, new EngineRoute("all", _ => true, CatalogRule.Named(rule), hypers));

        public static IReadOnlyList<OptimizerRecipe> All { get; } = new[]
        {
            new OptimizerRecipe("AdamW", "AdamW on every tensor, lr 1e-3, wd 0.01",
                c => AllTensors("AdamW", "AdamW", c, ("lr", 1e-3f), ("weightDecay", 0.01f))),
            // Lion and Tiger take steps of ±lr per element: 3–10× smaller lr than AdamW, stronger decay (seed 003, ch. 7).
            new OptimizerRecipe("Lion", "Lion on every tensor, lr 2e-4, wd 0.1",
                c => AllTensors("Lion", "Lion", c, ("lr", 2e-4f), ("weightDecay", 0.1f))),
            new OptimizerRecipe("Tiger", "Tiger on every tensor, lr 2e-4, wd 0.1",
                c => AllTensors("Tiger", "Tiger", c, ("lr", 2e-4f), ("weightDecay", 0.1f))),
            new OptimizerRecipe("C-AdamW", "cautious AdamW on every tensor (two passes: the mask's mean, then the update), lr 1e-3, wd 0.01",
                c => AllTensors("C-AdamW", "C-AdamW", c, ("lr", 1e-3f), ("weightDecay", 0.01f))),
            new OptimizerRecipe("SGD-Momentum", "heavy-ball SGD on every tensor, lr 0.02, β 0.9 (baseline)",
                c => AllTensors("SGD-Momentum", "SGD-Momentum", c, ("lr", 0.02f), ("beta", 0.9f))),
            // The seeds' routing: Muon on hidden 2-D weights, AdamW on embeddings, norms, the head and biases.
            // Moonshot scaling (0.2·√max(rows, cols)) lets Muon share AdamW's learning rate and decay.
            new OptimizerRecipe("Muon+AdamW", "Muon (DSL rule, Newton-Schulz matrix pass) on the hidden weight matrices, AdamW on embeddings, norms, the output layer and biases",
                c =>
                {
                    // Which tensors are hidden matrices is the model's call (Parameter.IsHidden): not embeddings or heads.
                    var hidden = new HashSet<string>(c.Parameters.Where(p => p.IsHidden).Select(p => p.Name));
                    return new EngineOptimizer("Muon+AdamW", c,
                        new EngineRoute("hidden", p => hidden.Contains(p.Name), CatalogRule.Named("Muon"),
                            new[] { ("lr", 2e-3f), ("beta", 0.95f), ("nesterov", 1f), ("moonshotScale", 1f), ("weightDecay", 0.01f) }),
                        new EngineRoute("rest", p => !hidden.Contains(p.Name), CatalogRule.Named("AdamW"),
                            new[] { ("lr", 1e-3f), ("weightDecay", 0.01f) }));
                }),
            new OptimizerRecipe("Adam", "Adam (L2 decay folded into the gradient), lr 1e-3",
                c => AllTensors("Adam", "Adam", c, ("lr", 1e-3f))),
            new OptimizerRecipe("C-Lion", "cautious Lion on every tensor, lr 2e-4, wd 0.1",
                c => AllTensors("C-Lion", "C-Lion", c, ("lr", 2e-4f), ("weightDecay", 0.1f))),
            new OptimizerRecipe("LAMB", "LAMB (per-tensor trust ratio) on every tensor, lr 1e-3",
                c => AllTensors("LAMB", "LAMB", c, ("lr", 1e-3f))),
            new OptimizerRecipe("ADOPT", "ADOPT on every tensor, lr 1e-3",
                c => AllTensors("ADOPT", "ADOPT", c, ("lr", 1e-3f))),
            new OptimizerRecipe("RMSprop", "RMSprop on every tensor, lr 5e-4",
                c => AllTensors("RMSprop", "RMSprop", c, ("lr", 5e-4f))),
            new OptimizerRecipe("SGD", "plain SGD on every tensor, lr 0.1",
                c => AllTensors("SGD", "SGD", c, ("lr", 0.1f))),
            new OptimizerRecipe("Nesterov", "Nesterov momentum on every tensor, lr 0.02",
                c => AllTensors("Nesterov", "Nesterov", c, ("lr", 0.02f))),
            new OptimizerRecipe("AdaGrad", "AdaGrad on every tensor, lr 0.01",
                c => AllTensors("AdaGrad", "AdaGrad", c, ("lr", 0.01f))),
            new OptimizerRecipe("SignSGD", "SignSGD on every tensor, lr 1e-4",
                c => AllTensors("SignSGD", "SignSGD", c, ("lr", 1e-4f))),
            // No learning rate: Adafactor's relative step min(1e-2, 1/√t) × RMS(θ) is its own schedule.
            new OptimizerRecipe("Adafactor", "Adafactor on every tensor (factored second moment: rows + cols floats per matrix; relative step, no lr)",
                c => AllTensors("Adafactor", "Adafactor", c)),
        };

        /// <summary>The default side-by-side comparison of `fused train`.</summary>
        public static IReadOnlyList<string> DefaultNames { get; } = new[] { "AdamW", "Lion", "Tiger", "C-AdamW", "Muon+AdamW" };

        public static OptimizerRecipe Named(string name) =>
            All.FirstOrDefault(r => string.Equals(r.Name, name.Trim(), StringComparison.OrdinalIgnoreCase))
               ?? throw new ArgumentException($"unknown optimizer '{name.Trim()}'; choose from {string.Join(", ", All.Select(r => r.Name))}");
    }

    /// <summary>One route of an <see cref="EngineOptimizer"/>: which tensors, which rule, which hyperparameters.</summary>
    public sealed record EngineRoute(string Group, Func<Parameter, bool> Claims, CatalogRule Rule, (string Name, float Value)[] Hypers);

    /// <summary>
    /// The runtime's optimizer engine over the model's own parameter and gradient arrays: tensors routed
    /// to generated rules, the learning rate of every group following the warm-up + cosine schedule.
    /// </summary>
    public sealed class EngineOptimizer : ITrainingOptimizer
    {
        private readonly Fused.Runtime.Engine.FusedOptimizer? _optimizer;
        private readonly Fused.Distributed.ShardedOptimizer? _sharded; // under --distributed, instead of _optimizer
        private readonly double _baseLr;
        private readonly ISchedule _factor;

        public EngineOptimizer(string name, OptimizerContext context, params EngineRoute[] routes)
        {
            Name = name;
            _factor = context.LearningRateFactor;
            var byName = context.Parameters.ToDictionary(p => p.Name);
            // Under --distributed the same parameters and routes go to the sharded builder (its calls mirror OptimizerBuilder's).
            var single = context.Parallel == null ? new Fused.Runtime.Engine.OptimizerBuilder().Pool(context.Pool) : null;
            var sharded = context.Parallel != null ? new Fused.Distributed.ShardedOptimizerBuilder(context.Parallel.Collectives).Threads(context.Pool.DegreeOfParallelism) : null;
            foreach (var p in context.Parameters)
            {
                int[] shape = p.IsMatrix ? new[] { p.Rows, p.Cols } : new[] { p.Count };
                single?.AddParameter(p.Name, shape, p.Value, p.Gradient);
                sharded?.AddParameter(p.Name, shape, p.Value, p.Gradient);
            }
            foreach (var route in routes)
            {
                Func<Fused.Runtime.Engine.ParameterInfo, bool> claims = info => route.Claims(byName[info.Name]);
                Action<Fused.Runtime.Engine.GroupOptions> configure = g =>
                {
                    g.Set(route.Hypers);
                    if (route.Rule.Rule.Hyperparameters.Any(h => h.Name == "lr")) g.ScheduleFactor("lr", _factor);
                };
                single?.Route(route.Group, claims, route.Rule.Rule, configure);
                sharded?.Route(route.Group, claims, route.Rule.Rule, configure);
            }
            _optimizer = single?.Build();
            _sharded = sharded?.Build();
            var lr = routes[0].Hypers.Where(h => h.Name == "lr").ToArray();
            _baseLr = lr.Length > 0 ? lr[0].Value : double.NaN;
            // As allocated: element states from the generated layouts, plus row/column and scalar states (this rank's shard when sharded).
            var engine = _optimizer ?? _sharded!.Engine;
            StateBytes = engine?.MemoryReport().Groups.Sum(g => g.StateBytes) ?? 0;
            Description = string.Join("; ", routes.Select(r =>
                $"{r.Rule.Name} ({string.Join(", ", r.Hypers.Select(h => $"{h.Name} {h.Value:G3}"))}) on {string.Join(", ", context.Parameters.Where(r.Claims).Select(p => p.Name))}"));
        }

        public string Name { get; }
        public string Description { get; }
        public long StateBytes { get; }

        /// <summary>NaN for rules without a learning rate (Adafactor).</summary>
        public double LearningRateAt(long step) => _baseLr * _factor.ValueAt(step);

        public void Step(long step)
        {
            var result = _optimizer?.Step() ?? _sharded!.Step();
            long at = _optimizer?.StepCount ?? _sharded!.StepCount;
            if (at != step)
                throw new InvalidOperationException($"{Name}: the engine is at step {at}, the trainer at {step} ({result.Status})");
        }

        public void Dispose()
        {
            _optimizer?.Dispose();
            _sharded?.Dispose();
        }
    }
}
