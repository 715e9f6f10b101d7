using System.Collections.Generic;
using Fused.Runtime.Kernels;

namespace Fused.Catalog
{
    /// <summary>Every rule of the catalog, for demos, reports and tests that iterate over them.</summary>
    public static class CatalogRules
    {
        /// <summary>The twenty catalog rules, simplest first (SGD ... Shampoo); each is also its class's <c>Rule</c>.</summary>
        public static IReadOnlyList<FusedRule> All { get; } = new[]
        {
            Sgd.Rule, SgdMomentum.Rule, Nesterov.Rule, AdaGrad.Rule, RmsProp.Rule, Adam.Rule, AdamW.Rule,
            SignSgd.Rule, Lion.Rule, Tiger.Rule, Adopt.Rule,
            CautiousAdamW.Rule, CautiousLion.Rule, Lamb.Rule, TigerFull.Rule, HyperBallAdamW.Rule,
            Adafactor.Rule, Muon.Rule, MuonH.Rule, Shampoo.Rule,
        };
    }
}
