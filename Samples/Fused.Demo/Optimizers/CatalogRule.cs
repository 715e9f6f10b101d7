using System;
using System.Collections.Generic;
using System.Linq;
using Fused.Catalog;
using Fused.Runtime.Kernels;

namespace Fused.Demo.Optimizers
{
    /// <summary>
    /// One generated catalog rule with the cost figures its generated <c>Layout</c> class states
    /// (constants emitted by the source generator, not recomputed here).
    /// </summary>
    public sealed record CatalogRule(
        FusedRule Rule,
        int StateBufferCount,
        int ElementStateBufferCount,
        int StateBytesPerParameter,
        int BytesMovedPerParameter,
        int PassCount,
        string StateBufferNames)
    {
        public string Name => Rule.Name;

        /// <summary>Index of the hyperparameter called <paramref name="name"/>, or −1.</summary>
        public int HyperIndex(string name)
        {
            for (int i = 0; i < Rule.Hyperparameters.Count; i++)
                if (string.Equals(Rule.Hyperparameters[i].Name, name, StringComparison.OrdinalIgnoreCase)) return i;
            return -1;
        }

        /// <summary>Every rule of Samples/Fused.Catalog, in the order of the seeds' story.</summary>
        public static IReadOnlyList<CatalogRule> All { get; } = new[]
        {
            new CatalogRule(Sgd.Rule, Sgd.Layout.StateBufferCount, Sgd.Layout.ElementStateBufferCount, Sgd.Layout.StateBytesPerParameter, Sgd.Layout.BytesMovedPerParameter, Sgd.Layout.PassCount, Sgd.Layout.StateBufferNames),
            new CatalogRule(SgdMomentum.Rule, SgdMomentum.Layout.StateBufferCount, SgdMomentum.Layout.ElementStateBufferCount, SgdMomentum.Layout.StateBytesPerParameter, SgdMomentum.Layout.BytesMovedPerParameter, SgdMomentum.Layout.PassCount, SgdMomentum.Layout.StateBufferNames),
            new CatalogRule(Nesterov.Rule, Nesterov.Layout.StateBufferCount, Nesterov.Layout.ElementStateBufferCount, Nesterov.Layout.StateBytesPerParameter, Nesterov.Layout.BytesMovedPerParameter, Nesterov.Layout.PassCount, Nesterov.Layout.StateBufferNames),
            new CatalogRule(AdaGrad.Rule, AdaGrad.Layout.StateBufferCount, AdaGrad.Layout.ElementStateBufferCount, AdaGrad.Layout.StateBytesPerParameter, AdaGrad.Layout.BytesMovedPerParameter, AdaGrad.Layout.PassCount, AdaGrad.Layout.StateBufferNames),
            new CatalogRule(RmsProp.Rule, RmsProp.Layout.StateBufferCount, RmsProp.Layout.ElementStateBufferCount, RmsProp.Layout.StateBytesPerParameter, RmsProp.Layout.BytesMovedPerParameter, RmsProp.Layout.PassCount, RmsProp.Layout.StateBufferNames),
            new CatalogRule(Adam.Rule, Adam.Layout.StateBufferCount, Adam.Layout.ElementStateBufferCount, Adam.Layout.StateBytesPerParameter, Adam.Layout.BytesMovedPerParameter, Adam.Layout.PassCount, Adam.Layout.StateBufferNames),
            new CatalogRule(AdamW.Rule, AdamW.Layout.StateBufferCount, AdamW.Layout.ElementStateBufferCount, AdamW.Layout.StateBytesPerParameter, AdamW.Layout.BytesMovedPerParameter, AdamW.Layout.PassCount, AdamW.Layout.StateBufferNames),
            new CatalogRule(SignSgd.Rule, SignSgd.Layout.StateBufferCount, SignSgd.Layout.ElementStateBufferCount, SignSgd.Layout.StateBytesPerParameter, SignSgd.Layout.BytesMovedPerParameter, SignSgd.Layout.PassCount, SignSgd.Layout.StateBufferNames),
            new CatalogRule(Lion.Rule, Lion.Layout.StateBufferCount, Lion.Layout.ElementStateBufferCount, Lion.Layout.StateBytesPerParameter, Lion.Layout.BytesMovedPerParameter, Lion.Layout.PassCount, Lion.Layout.StateBufferNames),
            new CatalogRule(Tiger.Rule, Tiger.Layout.StateBufferCount, Tiger.Layout.ElementStateBufferCount, Tiger.Layout.StateBytesPerParameter, Tiger.Layout.BytesMovedPerParameter, Tiger.Layout.PassCount, Tiger.Layout.StateBufferNames),
            new CatalogRule(Adopt.Rule, Adopt.Layout.StateBufferCount, Adopt.Layout.ElementStateBufferCount, Adopt.Layout.StateBytesPerParameter, Adopt.Layout.BytesMovedPerParameter, Adopt.Layout.PassCount, Adopt.Layout.StateBufferNames),
            new CatalogRule(CautiousAdamW.Rule, CautiousAdamW.Layout.StateBufferCount, CautiousAdamW.Layout.ElementStateBufferCount, CautiousAdamW.Layout.StateBytesPerParameter, CautiousAdamW.Layout.BytesMovedPerParameter, CautiousAdamW.Layout.PassCount, CautiousAdamW.Layout.StateBufferNames),
            new CatalogRule(CautiousLion.Rule, CautiousLion.Layout.StateBufferCount, CautiousLion.Layout.ElementStateBufferCount, CautiousLion.Layout.StateBytesPerParameter, CautiousLion.Layout.BytesMovedPerParameter, CautiousLion.Layout.PassCount, CautiousLion.Layout.StateBufferNames),
            new CatalogRule(Lamb.Rule, Lamb.Layout.StateBufferCount, Lamb.Layout.ElementStateBufferCount, Lamb.Layout.StateBytesPerParameter, Lamb.Layout.BytesMovedPerParameter, Lamb.Layout.PassCount, Lamb.Layout.StateBufferNames),
            new CatalogRule(TigerFull.Rule, TigerFull.Layout.StateBufferCount, TigerFull.Layout.ElementStateBufferCount, TigerFull.Layout.StateBytesPerParameter, TigerFull.Layout.BytesMovedPerParameter, TigerFull.Layout.PassCount, TigerFull.Layout.StateBufferNames),
            new CatalogRule(HyperBallAdamW.Rule, HyperBallAdamW.Layout.StateBufferCount, HyperBallAdamW.Layout.ElementStateBufferCount, HyperBallAdamW.Layout.StateBytesPerParameter, HyperBallAdamW.Layout.BytesMovedPerParameter, HyperBallAdamW.Layout.PassCount, HyperBallAdamW.Layout.StateBufferNames),
            new CatalogRule(Adafactor.Rule, Adafactor.Layout.StateBufferCount, Adafactor.Layout.ElementStateBufferCount, Adafactor.Layout.StateBytesPerParameter, Adafactor.Layout.BytesMovedPerParameter, Adafactor.Layout.PassCount, Adafactor.Layout.StateBufferNames),
            new CatalogRule(Muon.Rule, Muon.Layout.StateBufferCount, Muon.Layout.ElementStateBufferCount, Muon.Layout.StateBytesPerParameter, Muon.Layout.BytesMovedPerParameter, Muon.Layout.PassCount, Muon.Layout.StateBufferNames),
            new CatalogRule(MuonH.Rule, MuonH.Layout.StateBufferCount, MuonH.Layout.ElementStateBufferCount, MuonH.Layout.StateBytesPerParameter, MuonH.Layout.BytesMovedPerParameter, MuonH.Layout.PassCount, MuonH.Layout.StateBufferNames),
        };

        /// <summary>The rule named <paramref name="name"/> (case-insensitive).</summary>
        public static CatalogRule Named(string name)
            => All.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
               ?? throw new ArgumentException($"no catalog rule named '{name}'; the catalog has {string.Join(", ", All.Select(r => r.Name))}");
    }
}
