using System;
using Fused.Runtime.Schedules;
using Xunit;

namespace Fused.Runtime.Tests.Schedules
{
    public class ScheduleTests
    {
        private readonly Random _rng = new Random(Environment.TickCount ^ 0x5c);

        private static void Close(double expected, double actual, string what)
            => Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected:R}, got {actual:R}");

        [Fact]
        public void Constant()
        {
            var s = Schedule.Constant(3e-4);
            foreach (long step in new long[] { 1, 2, 1000, long.MaxValue })
            {
                Assert.Equal(3e-4, s.ValueAt(step));
            }
        }

        [Fact]
        public void LinearWarmup_ReachesOneAtTheLastWarmupStep()
        {
            long w = _rng.Next(2, 500);
            var s = Schedule.LinearWarmup(w);
            for (long step = 1; step <= w + 10; step++)
            {
                double expected = step < w ? step / (double)w : 1.0;
                Close(expected, s.ValueAt(step), $"step {step}");
            }

            var withStart = Schedule.LinearWarmup(10, startFactor: 0.1);
            Close(0.1 + 0.9 * 0.5, withStart.ValueAt(5), "start factor");
            Assert.Equal(1.0, Schedule.LinearWarmup(0).ValueAt(1));
        }

        [Fact]
        public void Cosine_FollowsTorchCosineAnnealing()
        {
            long total = _rng.Next(10, 1000);
            double min = _rng.NextDouble() * 0.2;
            var s = Schedule.Cosine(total, min);
            // torch CosineAnnealingLR closed form with T_cur = step − 1, T_max = total − 1, base 1.
            for (long step = 1; step <= total + 5; step++)
            {
                double tCur = Math.Min(step - 1, total - 1);
                double expected = min + (1 - min) * (1 + Math.Cos(Math.PI * tCur / (total - 1))) / 2;
                Close(expected, s.ValueAt(step), $"step {step}");
            }

            Assert.Equal(1.0, s.ValueAt(1));
            Close(min, s.ValueAt(total), "end");
            Close((1 + min) / 2, Schedule.Cosine(101, min).ValueAt(51), "midpoint");
        }

        [Fact]
        public void WarmupCosine_WarmsUpThenAnneals()
        {
            long warmup = 100, total = 1100;
            double min = 0.1;
            var s = Schedule.WarmupCosine(warmup, total, min);
            Close(0.01, s.ValueAt(1), "first step");
            Close(0.5, s.ValueAt(50), "mid warm-up");
            Assert.Equal(1.0, s.ValueAt(100));
            Close(min + (1 - min) * 0.5, s.ValueAt(600), "half-way through the cosine");
            double quarter = min + (1 - min) * (1 + Math.Cos(Math.PI / 4)) / 2;
            Close(quarter, s.ValueAt(350), "quarter");
            Close(min, s.ValueAt(1100), "end");
            Close(min, s.ValueAt(5000), "after the end");
            // Monotone after warm-up.
            for (long step = warmup + 1; step <= total; step++)
            {
                Assert.True(s.ValueAt(step) <= s.ValueAt(step - 1));
            }
        }

        [Fact]
        public void StepDecay_MultipliesByGammaEveryKSteps()
        {
            var s = Schedule.StepDecay(30, 0.1);
            Close(1, s.ValueAt(1), "1");
            Close(1, s.ValueAt(30), "30");
            Close(0.1, s.ValueAt(31), "31");
            Close(0.01, s.ValueAt(61), "61");
            Close(0.001, s.ValueAt(100), "100");
        }

        /// <summary>torch OneCycleLR.get_lr, transcribed: phases with end steps, cosine anneal.</summary>
        private static double TorchOneCycle(long stepNum, long totalSteps, double maxLr, double pctStart, double div, double finalDiv)
        {
            double initialLr = maxLr / div;
            double minLr = initialLr / finalDiv;
            var phases = new[]
            {
                (End: pctStart * totalSteps - 1, Start: initialLr, Stop: maxLr),
                (End: totalSteps - 1.0, Start: maxLr, Stop: minLr),
            };
            double startStep = 0;
            for (int i = 0; i < phases.Length; i++)
            {
                if (stepNum <= phases[i].End || i == phases.Length - 1)
                {
                    double pct = (stepNum - startStep) / (phases[i].End - startStep);
                    double cosOut = Math.Cos(Math.PI * pct) + 1;
                    return phases[i].Stop + (phases[i].Start - phases[i].Stop) / 2.0 * cosOut;
                }

                startStep = phases[i].End;
            }

            throw new InvalidOperationException();
        }

        [Theory]
        [InlineData(100, 1.0, 0.3, 25, 1e4)]
        [InlineData(1000, 0.01, 0.25, 10, 100)]
        [InlineData(37, 3.0, 0.5, 25, 1e4)]
        public void OneCycle_MatchesTorch(long total, double max, double pct, double div, double finalDiv)
        {
            var s = Schedule.OneCycle(total, max, pct, div, finalDiv);
            for (long step = 1; step <= total; step++)
            {
                Close(TorchOneCycle(step - 1, total, max, pct, div, finalDiv), s.ValueAt(step), $"step {step}");
            }

            Close(max / div, s.ValueAt(1), "start");
            Close(max / div / finalDiv, s.ValueAt(total), "end");
            Close(max / div / finalDiv, s.ValueAt(total + 100), "held after the end");
        }

        [Fact]
        public void OneCycle_PeaksAtPctStart()
        {
            var s = Schedule.OneCycle(100, 2.0);
            Close(2.0, s.ValueAt(30), "peak at step 30 (torch step 29)");
            Assert.True(s.ValueAt(29) < 2.0 && s.ValueAt(31) < 2.0);
        }

        [Fact]
        public void PiecewiseLinear_InterpolatesAndHoldsEnds()
        {
            var s = Schedule.PiecewiseLinear((10, 1.0), (20, 3.0), (40, 0.0));
            Assert.Equal(1.0, s.ValueAt(1));
            Assert.Equal(1.0, s.ValueAt(10));
            Close(2.0, s.ValueAt(15), "15");
            Assert.Equal(3.0, s.ValueAt(20));
            Close(1.5, s.ValueAt(30), "30");
            Assert.Equal(0.0, s.ValueAt(40));
            Assert.Equal(0.0, s.ValueAt(99));
        }

        [Fact]
        public void Composition_MultipliesPointwise()
        {
            double baseLr = 0.003;
            var lr = Schedule.Scaled(baseLr, Schedule.LinearWarmup(10).Times(Schedule.StepDecay(100, 0.5)));
            Close(baseLr * 0.1, lr.ValueAt(1), "1");
            Close(baseLr, lr.ValueAt(10), "10");
            Close(baseLr * 0.5, lr.ValueAt(101), "101");
            var user = Schedule.FromFunction(step => 1.0 / Math.Sqrt(step)).Times(2.0);
            Close(2.0 / 3.0, user.ValueAt(9), "user");
        }

        [Fact]
        public void Validation_GivesClearMessages()
        {
            var e = Assert.Throws<ArgumentException>(() => Schedule.WarmupCosine(200, 100));
            Assert.Contains("warm-up (200 steps) exceeds the total schedule length (100 steps)", e.Message);

            var stepError = Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.Constant(1).ValueAt(0));
            Assert.Contains("step must be >= 1", stepError.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.Cosine(100).ValueAt(-5));
            Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.FromFunction(s => s).ValueAt(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.LinearWarmup(-1));
            Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.Cosine(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.Cosine(10, minFactor: 1.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.StepDecay(0, 0.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.StepDecay(10, -0.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => Schedule.OneCycle(100, 1, pctStart: 1.2));
            var tiny = Assert.Throws<ArgumentException>(() => Schedule.OneCycle(3, 1, pctStart: 0.3));
            Assert.Contains("warm-up phase is empty", tiny.Message);
            Assert.Throws<ArgumentException>(() => Schedule.Constant(double.NaN));
            var order = Assert.Throws<ArgumentException>(() => Schedule.PiecewiseLinear((10, 1), (10, 2)));
            Assert.Contains("strictly increasing", order.Message);
            Assert.Throws<ArgumentException>(() => Schedule.PiecewiseLinear((0, 1)));
            Assert.Throws<ArgumentException>(() => Schedule.PiecewiseLinear());
        }
    }
}
