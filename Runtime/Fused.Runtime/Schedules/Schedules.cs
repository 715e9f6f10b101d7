using System;
using System.Collections.Generic;
using System.Globalization;

namespace Fused.Runtime.Schedules
{
    /// <summary>
    /// A value (learning rate, weight decay, β...) as a function of the optimizer step. Steps count from 1:
    /// step 1 is the first update. Multiplier schedules (warm-up, cosine, step decay) return factors to be
    /// combined with a base value via <see cref="Schedule.Scaled"/> or <see cref="Schedule.Times(ISchedule, ISchedule)"/>.
    /// </summary>
    public interface ISchedule
    {
        /// <summary>Value at <paramref name="step"/> (≥ 1).</summary>
        /// <exception cref="ArgumentOutOfRangeException">step &lt; 1.</exception>
        double ValueAt(long step);
    }

    /// <summary>Factories and combinators for <see cref="ISchedule"/>.</summary>
    public static class Schedule
    {
        /// <summary>The same value at every step.</summary>
        public static ISchedule Constant(double value) => new ConstantSchedule(value);

        /// <summary>Factor rising linearly to 1 at <paramref name="warmupSteps"/> (see <see cref="LinearWarmupSchedule"/>).</summary>
        public static ISchedule LinearWarmup(long warmupSteps, double startFactor = 0) => new LinearWarmupSchedule(warmupSteps, startFactor);

        /// <summary>Factor annealed by half a cosine from 1 at step 1 to <paramref name="minFactor"/> at <paramref name="totalSteps"/>.</summary>
        public static ISchedule Cosine(long totalSteps, double minFactor = 0) => new WarmupCosineSchedule(0, totalSteps, minFactor);

        /// <summary>Linear warm-up then cosine annealing to <paramref name="minFactor"/> (see <see cref="WarmupCosineSchedule"/>).</summary>
        public static ISchedule WarmupCosine(long warmupSteps, long totalSteps, double minFactor = 0) => new WarmupCosineSchedule(warmupSteps, totalSteps, minFactor);

        /// <summary>Factor multiplied by <paramref name="gamma"/> every <paramref name="everySteps"/> steps.</summary>
        public static ISchedule StepDecay(long everySteps, double gamma) => new StepDecaySchedule(everySteps, gamma);

        /// <summary>torch.optim.lr_scheduler.OneCycleLR (two phases, cosine annealing); absolute values, not a factor.</summary>
        public static ISchedule OneCycle(long totalSteps, double maxValue, double pctStart = 0.3, double divFactor = 25, double finalDivFactor = 1e4)
            => new OneCycleSchedule(totalSteps, maxValue, pctStart, divFactor, finalDivFactor);

        /// <summary>Linear interpolation between (step, value) points (see <see cref="PiecewiseLinearSchedule"/>).</summary>
        public static ISchedule PiecewiseLinear(params (long Step, double Value)[] points) => new PiecewiseLinearSchedule(points);

        /// <summary>A user function of the step.</summary>
        public static ISchedule FromFunction(Func<long, double> function) => new FunctionSchedule(function);

        /// <summary><paramref name="baseValue"/> × <paramref name="multiplier"/>(step).</summary>
        public static ISchedule Scaled(double baseValue, ISchedule multiplier)
            => new ProductSchedule(new ConstantSchedule(baseValue), multiplier ?? throw new ArgumentNullException(nameof(multiplier)));

        /// <summary>Pointwise product of two schedules (e.g. warm-up × step decay).</summary>
        public static ISchedule Times(this ISchedule first, ISchedule second)
            => new ProductSchedule(first ?? throw new ArgumentNullException(nameof(first)), second ?? throw new ArgumentNullException(nameof(second)));

        /// <summary>The schedule multiplied by a constant.</summary>
        public static ISchedule Times(this ISchedule schedule, double factor) => Scaled(factor, schedule);

        internal static void CheckStep(long step)
        {
            if (step < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(step), step, $"step must be >= 1 (steps are counted from 1), got {step}");
            }
        }

        internal static void CheckFinite(double value, string name)
        {
            if (!double.IsFinite(value))
            {
                throw new ArgumentException($"{name} must be finite, got {value.ToString(CultureInfo.InvariantCulture)}", name);
            }
        }
    }

    /// <summary>The same value at every step.</summary>
    public sealed class ConstantSchedule : ISchedule
    {
        private readonly double _value;

        /// <summary>Creates the schedule.</summary>
        public ConstantSchedule(double value)
        {
            Schedule.CheckFinite(value, nameof(value));
            _value = value;
        }

        /// <inheritdoc/>
        public double ValueAt(long step)
        {
            Schedule.CheckStep(step);
            return _value;
        }
    }

    /// <summary>
    /// Warm-up factor: startFactor + (1 − startFactor)·step/warmupSteps for step &lt; warmupSteps, then 1.
    /// With startFactor 0, step 1 gives 1/warmupSteps and step warmupSteps gives 1.
    /// </summary>
    public sealed class LinearWarmupSchedule : ISchedule
    {
        private readonly long _warmupSteps;
        private readonly double _startFactor;

        /// <summary>Creates the schedule.</summary>
        public LinearWarmupSchedule(long warmupSteps, double startFactor = 0)
        {
            if (warmupSteps < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "warm-up steps must be >= 0");
            }

            if (!(startFactor >= 0 && startFactor <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "warm-up start factor must be in [0, 1]");
            }

            _warmupSteps = warmupSteps;
            _startFactor = startFactor;
        }

        /// <inheritdoc/>
        public double ValueAt(long step)
        {
            Schedule.CheckStep(step);
            return step >= _warmupSteps ? 1.0 : _startFactor + (1 - _startFactor) * step / _warmupSteps;
        }
    }

    /// <summary>
    /// Linear warm-up over warmupSteps (factor step/warmupSteps), then half-cosine annealing from 1 at step
    /// max(warmupSteps, 1) to minFactor at totalSteps, and minFactor after. With warmupSteps 0 this is plain cosine
    /// annealing starting at 1 on step 1 (torch CosineAnnealingLR with T_max = totalSteps − 1).
    /// </summary>
    public sealed class WarmupCosineSchedule : ISchedule
    {
        private readonly long _warmupSteps;
        private readonly long _totalSteps;
        private readonly double _minFactor;

        /// <summary>Creates the schedule.</summary>
        public WarmupCosineSchedule(long warmupSteps, long totalSteps, double minFactor = 0)
        {
            if (warmupSteps < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "warm-up steps must be >= 0");
            }

            if (totalSteps < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "total steps must be >= 1");
            }

            if (warmupSteps > totalSteps)
            {
                throw new ArgumentException(
                    $"warm-up ({warmupSteps} steps) exceeds the total schedule length ({totalSteps} steps)", nameof(warmupSteps));
            }

            if (!(minFactor >= 0 && minFactor <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(minFactor), minFactor, "minimum factor must be in [0, 1]");
            }

            _warmupSteps = warmupSteps;
            _totalSteps = totalSteps;
            _minFactor = minFactor;
        }

        /// <inheritdoc/>
        public double ValueAt(long step)
        {
            Schedule.CheckStep(step);
            if (step <= _warmupSteps)
            {
                return (double)step / _warmupSteps;
            }

            long anchor = Math.Max(_warmupSteps, 1);
            if (step <= anchor)
            {
                return 1.0;
            }

            if (step >= _totalSteps)
            {
                return _minFactor;
            }

            double progress = (double)(step - anchor) / (_totalSteps - anchor);
            return _minFactor + (1 - _minFactor) * 0.5 * (1 + Math.Cos(Math.PI * progress));
        }
    }

    /// <summary>Factor gamma^⌊(step − 1)/everySteps⌋ (torch StepLR with epochs counted from 0).</summary>
    public sealed class StepDecaySchedule : ISchedule
    {
        private readonly long _everySteps;
        private readonly double _gamma;

        /// <summary>Creates the schedule.</summary>
        public StepDecaySchedule(long everySteps, double gamma)
        {
            if (everySteps < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(everySteps), everySteps, "step decay interval must be >= 1 step");
            }

            if (!(gamma > 0) || !double.IsFinite(gamma))
            {
                throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "step decay gamma must be positive and finite");
            }

            _everySteps = everySteps;
            _gamma = gamma;
        }

        /// <inheritdoc/>
        public double ValueAt(long step)
        {
            Schedule.CheckStep(step);
            return Math.Pow(_gamma, (step - 1) / _everySteps);
        }
    }

    /// <summary>
    /// One-cycle policy as torch OneCycleLR(three_phase=False, anneal_strategy='cos'): from maxValue/divFactor up to
    /// maxValue over the first pctStart of the steps, then down to maxValue/(divFactor·finalDivFactor) at
    /// totalSteps, both by cosine annealing. Step s here is torch's step s − 1. Steps after totalSteps hold the
    /// final value (torch raises instead).
    /// </summary>
    public sealed class OneCycleSchedule : ISchedule
    {
        private readonly long _totalSteps;
        private readonly double _initial;
        private readonly double _max;
        private readonly double _final;
        private readonly double _peakStep;

        /// <summary>Creates the schedule.</summary>
        public OneCycleSchedule(long totalSteps, double maxValue, double pctStart = 0.3, double divFactor = 25, double finalDivFactor = 1e4)
        {
            if (totalSteps < 2)
            {
                throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "one-cycle needs at least 2 total steps");
            }

            Schedule.CheckFinite(maxValue, nameof(maxValue));
            if (!(pctStart > 0 && pctStart < 1))
            {
                throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "one-cycle pctStart must be in (0, 1)");
            }

            if (!(divFactor > 0) || !double.IsFinite(divFactor) || !(finalDivFactor > 0) || !double.IsFinite(finalDivFactor))
            {
                throw new ArgumentException("one-cycle divFactor and finalDivFactor must be positive and finite");
            }

            double peak = pctStart * totalSteps - 1;
            if (!(peak > 0) || !(peak < totalSteps - 1))
            {
                throw new ArgumentException(
                    $"one-cycle warm-up phase is empty or covers the whole cycle: pctStart·totalSteps − 1 = {peak.ToString(CultureInfo.InvariantCulture)} must lie strictly between 0 and totalSteps − 1 = {totalSteps - 1}",
                    nameof(pctStart));
            }

            _totalSteps = totalSteps;
            _max = maxValue;
            _initial = maxValue / divFactor;
            _final = _initial / finalDivFactor;
            _peakStep = peak;
        }

        /// <inheritdoc/>
        public double ValueAt(long step)
        {
            Schedule.CheckStep(step);
            double n = Math.Min(step, _totalSteps) - 1;
            return n <= _peakStep
                ? Anneal(_initial, _max, n / _peakStep)
                : Anneal(_max, _final, (n - _peakStep) / (_totalSteps - 1 - _peakStep));
        }

        private static double Anneal(double from, double to, double fraction)
            => to + (from - to) / 2 * (Math.Cos(Math.PI * fraction) + 1);
    }

    /// <summary>
    /// Linear interpolation through (step, value) points with strictly increasing steps ≥ 1; before the first
    /// point the first value, after the last point the last value.
    /// </summary>
    public sealed class PiecewiseLinearSchedule : ISchedule
    {
        private readonly long[] _steps;
        private readonly double[] _values;

        /// <summary>Creates the schedule.</summary>
        public PiecewiseLinearSchedule(IReadOnlyList<(long Step, double Value)> points)
        {
            ArgumentNullException.ThrowIfNull(points);
            if (points.Count == 0)
            {
                throw new ArgumentException("piecewise schedule needs at least one point", nameof(points));
            }

            _steps = new long[points.Count];
            _values = new double[points.Count];
            for (int i = 0; i < points.Count; i++)
            {
                var (step, value) = points[i];
                if (step < 1)
                {
                    throw new ArgumentException($"piecewise point {i} is at step {step}; steps are counted from 1", nameof(points));
                }

                if (i > 0 && step <= _steps[i - 1])
                {
                    throw new ArgumentException(
                        $"piecewise points must have strictly increasing steps: point {i} (step {step}) follows step {_steps[i - 1]}", nameof(points));
                }

                Schedule.CheckFinite(value, nameof(points));
                _steps[i] = step;
                _values[i] = value;
            }
        }

        /// <inheritdoc/>
        public double ValueAt(long step)
        {
            Schedule.CheckStep(step);
            if (step <= _steps[0])
            {
                return _values[0];
            }

            int last = _steps.Length - 1;
            if (step >= _steps[last])
            {
                return _values[last];
            }

            int i = Array.BinarySearch(_steps, step);
            if (i >= 0)
            {
                return _values[i];
            }

            int upper = ~i;
            int lower = upper - 1;
            double t = (double)(step - _steps[lower]) / (_steps[upper] - _steps[lower]);
            return _values[lower] + (_values[upper] - _values[lower]) * t;
        }
    }

    /// <summary>A schedule given by a user function; the step is validated before the call.</summary>
    public sealed class FunctionSchedule : ISchedule
    {
        private readonly Func<long, double> _function;

        /// <summary>Creates the schedule.</summary>
        public FunctionSchedule(Func<long, double> function)
        {
            _function = function ?? throw new ArgumentNullException(nameof(function));
        }

        /// <inheritdoc/>
        public double ValueAt(long step)
        {
            Schedule.CheckStep(step);
            return _function(step);
        }
    }

    /// <summary>Pointwise product of two schedules.</summary>
    public sealed class ProductSchedule : ISchedule
    {
        private readonly ISchedule _first;
        private readonly ISchedule _second;

        /// <summary>Creates the schedule.</summary>
        public ProductSchedule(ISchedule first, ISchedule second)
        {
            _first = first ?? throw new ArgumentNullException(nameof(first));
            _second = second ?? throw new ArgumentNullException(nameof(second));
        }

        /// <inheritdoc/>
        public double ValueAt(long step) => _first.ValueAt(step) * _second.ValueAt(step);
    }
}
