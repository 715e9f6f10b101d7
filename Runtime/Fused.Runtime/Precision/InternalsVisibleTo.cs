using System.Runtime.CompilerServices;

// The tests drive each SIMD width directly (Vector512 runs in software where AVX-512 is absent) to prove
// every path bit-identical to the scalar one.
[assembly: InternalsVisibleTo("Fused.Runtime.Tests")]

// The engine benchmark runs its hand-written baselines on the engine's own state buffers, so that both sides of a
// comparison stream the same memory (the same loop on two freshly allocated buffer sets differs by up to 9% here).
[assembly: InternalsVisibleTo("Fused.Benchmarks")]

// The sharded optimizer reads a route's options (hyperparameters, schedules, precision) to check that every rank was
// configured alike.
[assembly: InternalsVisibleTo("Fused.Distributed")]
