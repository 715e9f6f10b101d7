using System.Collections.Generic;

namespace Fused
{
    /// <summary>
    /// A rule's hyperparameter values, typed: every generated <c>X.Hyperparameters</c> record implements it, so the engine
    /// takes the record itself (<c>g.Hyperparameters(new AdamW.Hyperparameters { Lr = 3e-4f })</c>) and can refuse the
    /// record of another rule. Implemented explicitly, so no member name can collide with a hyperparameter's property.
    /// </summary>
    public interface IRuleHyperparameters
    {
        /// <summary>The name of the rule the values belong to (its <c>FusedRule.Name</c>).</summary>
        string RuleName { get; }

        /// <summary>Each hyperparameter's declared name (as in <c>Update</c>) and value, in declared order.</summary>
        IReadOnlyList<KeyValuePair<string, float>> Values { get; }
    }
}
