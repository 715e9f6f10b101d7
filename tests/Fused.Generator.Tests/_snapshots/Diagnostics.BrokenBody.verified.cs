// Diagnostics of BrokenBody.cs
FUSED001 Error BrokenBody.cs(12,13)-(12,42): 'if (grad > 0f) param -= grad;' is not supported in a Fused rule: a rule body holds only local declarations and assignments (use Where or ?: instead of if)
FUSED001 Error BrokenBody.cs(13,17)-(13,33): 'a = new float[1]' is not supported in a Fused rule: locals must be 'float' or 'bool'
FUSED002 Error BrokenBody.cs(14,28)-(14,43): 'Math.Sqrt' is not a Fused intrinsic; a rule may call only Fused.Intrinsics (Sign, Abs, Sqrt, Rsqrt, Exp, Log, Pow, Square, Min, Max, Clamp, Lerp, Where, Sum, Mean, Norm, Rms, MaxAbs, RowMean, ColMean, RowSum, ColSum, Orthogonalize, Precondition) and read the properties Numel, Rows and Cols (no parentheses)
FUSED001 Error BrokenBody.cs(15,21)-(15,30): '%' is not supported in a Fused rule: supported operators are + - * / < <= > >= == != && ||
FUSED005 Error BrokenBody.cs(16,13)-(16,15): 'lr' is the hyperparameter and cannot be assigned; copy it into a local first
FUSED001 Error BrokenBody.cs(17,44)-(17,48): 'a[0]' is not supported in a Fused rule: rules work on one element; there is no indexing
