using System.Runtime.CompilerServices;

// Backend selection from FUSED_BLAS is tested without mutating the process environment.
[assembly: InternalsVisibleTo("Fused.Runtime.Tests")]
