using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Ir;
using Fused.Runtime.Kernels;
using Fused.Runtime.Schedules;

namespace Fused.Runtime.Engine
{
    /// <summary>
    /// Settings of one parameter group (one route): hyperparameter values, schedules and state precision.
    /// Names are checked against the rule as they are given; an unknown name throws an
    /// <see cref="OptimizerConfigurationException"/> listing the rule's hyperparameters.
    /// </summary>
    public sealed class GroupOptions
    {
        private readonly FusedRule _rule;
        internal readonly float[] Hypers;
        internal readonly ISchedule?[] AbsoluteSchedules;
        internal readonly ISchedule?[] FactorSchedules;

        internal GroupOptions(FusedRule rule)
        {
            _rule = rule;
            Hypers = rule.DefaultHyperparameters();
            AbsoluteSchedules = new ISchedule?[Hypers.Length];
            FactorSchedules = new ISchedule?[Hypers.Length];
        }

        internal StatePrecision Precision { get; private set; } = StatePrecision.Float32;

        internal Matrix.NewtonSchulzOptions? NewtonSchulz { get; private set; }

        internal Matrix.ShampooOptions? Shampoo { get; private set; }

        /// <summary>Settings for rules with Precondition (Shampoo): root refresh interval, epsilon, maximum side.</summary>
        public GroupOptions Preconditioning(Matrix.ShampooOptions options)
        {
            Shampoo = options ?? throw new ArgumentNullException(nameof(options));
            return this;
        }

        /// <summary>Newton-Schulz settings for rules with matrix passes (Orthogonalize): steps, coefficient schedule, variants.</summary>
        public GroupOptions Orthogonalization(Matrix.NewtonSchulzOptions options)
        {
            NewtonSchulz = options ?? throw new ArgumentNullException(nameof(options));
            return this;
        }

        /// <summary>Sets one hyperparameter by name (e.g. <c>Set("lr", 3e-4f)</c>).</summary>
        /// <exception cref="OptimizerConfigurationException">Unknown name, or a value that is NaN or infinite.</exception>
        public GroupOptions Set(string name, float value)
        {
            int i = IndexOf(name);
            CheckFinite(name, value);
            Hypers[i] = value;
            return this;
        }

        /// <summary>Sets several hyperparameters by name: <c>Set(("lr", 3e-4f), ("weightDecay", 0.1f))</c>.</summary>
        public GroupOptions Set(params (string Name, float Value)[] values)
        {
            foreach (var (name, value) in values) Set(name, value);
            return this;
        }

        /// <summary>Sets every hyperparameter, in the rule's declared order.</summary>
        public GroupOptions Hyperparameters(params float[] valuesInDeclaredOrder)
        {
            if (valuesInDeclaredOrder.Length != Hypers.Length)
                throw new OptimizerConfigurationException(
                    $"{_rule.Name} takes {Hypers.Length} hyperparameters ({Describe(_rule)}), got {valuesInDeclaredOrder.Length}");
            for (int i = 0; i < Hypers.Length; i++) CheckFinite(_rule.Hyperparameters[i].Name, valuesInDeclaredOrder[i]);
            valuesInDeclaredOrder.CopyTo(Hypers, 0);
            return this;
        }

        /// <summary>
        /// Sets every hyperparameter from the rule's generated record: <c>g.Hyperparameters(new AdamW.Hyperparameters { Lr = 3e-4f })</c>
        /// (its defaults for the rest). Schedules still name hyperparameters by string.
        /// </summary>
        /// <exception cref="OptimizerConfigurationException">The record belongs to another rule, or a value is NaN or infinite.</exception>
        public GroupOptions Hyperparameters(IRuleHyperparameters values)
        {
            if (values == null) throw new ArgumentNullException(nameof(values));
            if (values.RuleName != _rule.Name)
                throw new OptimizerConfigurationException(
                    $"this group runs {_rule.Name}, but was given the hyperparameters of {values.RuleName} ({values.GetType().FullName}); use {_rule.Name}'s Hyperparameters record");
            var pairs = values.Values;
            if (pairs.Count != Hypers.Length)
                throw new OptimizerConfigurationException($"{_rule.Name} takes {Hypers.Length} hyperparameters ({Describe(_rule)}), the record has {pairs.Count}");
            var indices = pairs.Select(pair => IndexOf(pair.Key)).ToArray();
            foreach (var pair in pairs) CheckFinite(pair.Key, pair.Value);
            for (int k = 0; k < indices.Length; k++) Hypers[indices[k]] = pairs[k].Value;
            return this;
        }

        /// <summary>The hyperparameter takes the schedule's value at each step (absolute value; its base value is ignored).</summary>
        public GroupOptions Schedule(string name, ISchedule schedule)
        {
            int i = IndexOf(name);
            AbsoluteSchedules[i] = schedule ?? throw new ArgumentNullException(nameof(schedule));
            FactorSchedules[i] = null;
            return this;
        }

        /// <summary>The hyperparameter is its base value × the schedule's factor at each step (warm-up, cosine...).</summary>
        public GroupOptions ScheduleFactor(string name, ISchedule factor)
        {
            int i = IndexOf(name);
            FactorSchedules[i] = factor ?? throw new ArgumentNullException(nameof(factor));
            AbsoluteSchedules[i] = null;
            return this;
        }

        /// <summary>How this group stores its per-element state.</summary>
        public GroupOptions State(StatePrecision precision)
        {
            if (!Enum.IsDefined(precision)) throw new ArgumentOutOfRangeException(nameof(precision), precision, "unknown state precision");
            Precision = precision;
            return this;
        }

        private void CheckFinite(string name, float value)
        {
            if (!float.IsFinite(value))
                throw new OptimizerConfigurationException($"{_rule.Name}: {name} = {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not a finite float32 (a float64 above 3.4e38 becomes infinity)");
        }

        private int IndexOf(string name)
        {
            var hypers = _rule.Hyperparameters;
            for (int i = 0; i < hypers.Count; i++) if (hypers[i].Name == name) return i;
            throw new OptimizerConfigurationException(
                $"{_rule.Name} has no hyperparameter '{name}'; its hyperparameters are: {Describe(_rule)}");
        }

        internal static string Describe(FusedRule rule)
            => string.Join(", ", rule.Hyperparameters.Select(h => $"{h.Name} (default {h.Default:G6})"));
    }
}
