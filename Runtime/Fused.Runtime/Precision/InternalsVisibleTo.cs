using System.Runtime.CompilerServices;

// The tests drive each SIMD width directly (Vector512 runs in software where AVX-512 is absent) to prove
// every path bit-identical to the scalar one.
[assembly: InternalsVisibleTo("Fused.Runtime.Tests")]
