using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Fused.Runtime.Kernels;

namespace Fused.Testing
{
    /// <summary>
    /// A rule's <c>Update</c> method called as plain C#, one element at a time: what the rule's author wrote, before the
    /// generator touched it. Its parameters are matched to the rule's buffers, hyperparameters and step by their
    /// attributes, as the generator matches them.
    /// </summary>
    internal sealed class DirectUpdate
    {
        private enum Role { Buffer, Hyper, Step }

        private readonly Func<object?[], object?> _invoke;
        private readonly (Role Role, int Index, Type Type)[] _parameters;

        private DirectUpdate(Func<object?[], object?> invoke, (Role, int, Type)[] parameters)
        {
            _invoke = invoke;
            _parameters = parameters;
        }

        /// <summary>The rule class's own Update (found by reflection on the class that declares <paramref name="rule"/>), or null when it has none.</summary>
        public static DirectUpdate? Of(FusedRule rule, Delegate? update, out string why)
        {
            var owner = rule.GetType().DeclaringType;
            var method = owner?.GetMethod("Update", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);
            if (method == null)
            {
                why = owner == null
                    ? $"'{rule.Name}' is not a generated rule class (no declaring class to find Update in)"
                    : $"{owner.Name} has no static Update method";
                if (update != null) throw new ArgumentException($"an Update delegate was given, but {why}: its parameters cannot be matched", nameof(update));
                return null;
            }
            var mapping = Map(rule, method);
            if (update != null)
            {
                int count = update.Method.GetParameters().Length;
                if (count != mapping.Length)
                    throw new ArgumentException($"the Update delegate takes {count} parameters, {owner!.Name}.Update takes {mapping.Length}", nameof(update));
                why = "the given Update delegate";
                return new DirectUpdate(args => update.DynamicInvoke(args), mapping);
            }
            why = $"{owner!.Name}.Update";
            return new DirectUpdate(args => method.Invoke(null, args), mapping);
        }

        // Parameter 0 is the parameter, 1 its gradient (the generator requires that order); then [State]s in order, [Hyper]s
        // in order and the [Step].
        private static (Role, int, Type)[] Map(FusedRule rule, MethodInfo method)
        {
            var parameters = method.GetParameters();
            var result = new (Role, int, Type)[parameters.Length];
            int state = 0, hyper = 0;
            var stateBuffers = rule.Program.StateBuffers.ToList();
            for (int k = 0; k < parameters.Length; k++)
            {
                var p = parameters[k];
                var type = p.ParameterType.IsByRef ? p.ParameterType.GetElementType()! : p.ParameterType;
                if (k < 2) result[k] = (Role.Buffer, k, type);
                else if (p.GetCustomAttribute<StateAttribute>() != null) result[k] = (Role.Buffer, stateBuffers[state++], type);
                else if (p.GetCustomAttribute<HyperAttribute>() != null) result[k] = (Role.Hyper, hyper++, type);
                else if (p.GetCustomAttribute<StepAttribute>() != null) result[k] = (Role.Step, 0, type);
                else throw new ArgumentException($"{method.DeclaringType?.Name}.Update parameter '{p.Name}' is neither state, hyperparameter nor step");
            }
            return result;
        }

        /// <summary>
        /// One step over every element of <paramref name="buffers"/> in place (a buffer of one value, a scalar state or the
        /// row/column state of a one-element tensor, is shared by every element).
        /// </summary>
        public void Step(float[][] buffers, ReadOnlySpan<float> hypers, long step, int length)
        {
            var args = new object?[_parameters.Length];
            for (int i = 0; i < length; i++)
            {
                for (int k = 0; k < args.Length; k++)
                {
                    var (role, index, type) = _parameters[k];
                    args[k] = role switch
                    {
                        Role.Buffer => buffers[index][buffers[index].Length == 1 ? 0 : i],
                        Role.Hyper => Convert.ChangeType(hypers[index], type, System.Globalization.CultureInfo.InvariantCulture),
                        _ => Convert.ChangeType(step, type, System.Globalization.CultureInfo.InvariantCulture),
                    };
                }
                _invoke(args);
                for (int k = 0; k < args.Length; k++)
                {
                    var (role, index, _) = _parameters[k];
                    if (role == Role.Buffer && index != 1) buffers[index][buffers[index].Length == 1 ? 0 : i] = Convert.ToSingle(args[k], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }
    }
}
