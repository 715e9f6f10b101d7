// Diagnostics of WrongParameters.cs
FUSED009 Error WrongParameters.cs(10,39)-(10,44): Parameter 'param': the parameter must be 'ref float'
FUSED009 Error WrongParameters.cs(10,72)-(10,73): Parameter 's': a [State] must be 'ref float'
FUSED007 Error WrongParameters.cs(10,89)-(10,91): Hyperparameter 'lr' has no default; write [Hyper(value)]
FUSED009 Error WrongParameters.cs(10,108)-(10,109): Parameter 'n': a [Hyper] must be 'float'
FUSED009 Error WrongParameters.cs(10,117)-(10,122): Parameter 'extra': mark it [State], [Hyper(default)] or [Step]
FUSED009 Error WrongParameters.cs(10,138)-(10,139): Parameter 't': the [Step] must be 'int', 'long' or 'float'
