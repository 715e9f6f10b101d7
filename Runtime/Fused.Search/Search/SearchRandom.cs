using System;
using System.Globalization;
using System.Linq;

namespace Fused.Search
{
    /// <summary>
    /// xoshiro256** with a state that can be saved and restored as text: System.Random cannot be
    /// serialised, and a resumed search must continue with exactly the numbers it would have drawn.
    /// </summary>
    public sealed class SearchRandom
    {
        private ulong _s0, _s1, _s2, _s3;

        public SearchRandom(ulong seed)
        {
            ulong x = seed;
            _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
        }

        private SearchRandom() { }

        private static ulong SplitMix(ref ulong x)
        {
            ulong z = x += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public ulong NextULong()
        {
            ulong result = RotateLeft(_s1 * 5, 7) * 9;
            ulong t = _s1 << 17;
            _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
            _s2 ^= t;
            _s3 = RotateLeft(_s3, 45);
            return result;
        }

        private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

        /// <summary>Uniform in [0, 1).</summary>
        public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

        /// <summary>Uniform in [0, n).</summary>
        public int Next(int n)
        {
            if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
            return (int)(NextDouble() * n);
        }

        public bool Chance(double p) => NextDouble() < p;

        /// <summary>Standard normal (Box–Muller, one value per call).</summary>
        public double NextGaussian()
        {
            double u1 = 1.0 - NextDouble(), u2 = NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }

        public T Pick<T>(System.Collections.Generic.IReadOnlyList<T> items) => items[Next(items.Count)];

        /// <summary>An independent generator derived from this one (for per-child streams).</summary>
        public SearchRandom Fork() => new SearchRandom(NextULong());

        public string SaveState() => string.Join(",", new[] { _s0, _s1, _s2, _s3 }.Select(v => v.ToString("X16", CultureInfo.InvariantCulture)));

        public static SearchRandom FromState(string state)
        {
            var parts = state.Split(',');
            if (parts.Length != 4) throw new FormatException("RNG state must have four words");
            var r = new SearchRandom();
            r._s0 = ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            r._s1 = ulong.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            r._s2 = ulong.Parse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            r._s3 = ulong.Parse(parts[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return r;
        }
    }
}
