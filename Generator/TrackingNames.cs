namespace Fused.Generator
{
    /// <summary>Names of the pipeline steps, for incremental-generator tests.</summary>
    public static class TrackingNames
    {
        public const string Parse = nameof(Parse);
        public const string Specs = nameof(Specs);
        public const string Diagnostics = nameof(Diagnostics);
        public const string OutsideRuleUses = nameof(OutsideRuleUses);
        public const string UsesIlgpu = nameof(UsesIlgpu);
        public const string IlgpuSpecs = nameof(IlgpuSpecs);
    }
}
