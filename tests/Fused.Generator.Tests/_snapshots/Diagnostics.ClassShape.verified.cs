// Diagnostics of ClassShape.cs
FUSED010 Error ClassShape.cs(4,14)-(4,33): Rule class 'NotStaticNorPartial' must be declared 'static partial' so the generator can add to it
FUSED012 Error ClassShape.cs(4,14)-(4,33): Rule class 'NotStaticNorPartial' must be a top-level, non-generic class
FUSED011 Error ClassShape.cs(10,29)-(10,37): Rule class 'NoUpdate' needs exactly one 'static void Update(ref float param, float grad, ...)' method: no method named Update
