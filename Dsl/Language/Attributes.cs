using System;

namespace Fused
{
    /// <summary>
    /// Marks a <c>static partial</c> class as an optimizer rule. The class holds one
    /// <c>static void Update(...)</c> method written in the Fused language; the generator emits the
    /// hyperparameter record, the state layout and the fused kernels into the same class.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
    public sealed class OptimizerAttribute : Attribute
    {
        /// <summary>Display name of the rule; the class name when omitted.</summary>
        public string? Name { get; set; }
    }

    /// <summary>The parameter being optimized (<c>ref float</c>). Optional on the first parameter of <c>Update</c>.</summary>
    [AttributeUsage(AttributeTargets.Parameter)]
    public sealed class ParamAttribute : Attribute { }

    /// <summary>The gradient of the parameter (<c>float</c>, read-only). Optional on the second parameter of <c>Update</c>.</summary>
    [AttributeUsage(AttributeTargets.Parameter)]
    public sealed class GradAttribute : Attribute { }

    /// <summary>Shape of a state buffer relative to its parameter.</summary>
    public enum StateShape
    {
        /// <summary>One value per parameter element.</summary>
        Element = 0,
        /// <summary>One value per row of a matrix parameter (Adafactor's row statistics).</summary>
        Row = 1,
        /// <summary>One value per column of a matrix parameter (Adafactor's column statistics).</summary>
        Column = 2,
        /// <summary>One value per tensor (for example a radius recorded at the first step).</summary>
        Scalar = 3,
    }

    /// <summary>
    /// An optimizer state buffer (<c>ref float</c>), persisted between steps and zero at the first step.
    /// </summary>
    [AttributeUsage(AttributeTargets.Parameter)]
    public sealed class StateAttribute : Attribute
    {
        /// <summary>An element-shaped state: one float per parameter element.</summary>
        public StateAttribute() { }
        /// <summary>A state of the given <paramref name="shape"/> (element, row, column or scalar).</summary>
        public StateAttribute(StateShape shape) { Shape = shape; }
        /// <summary>The state's shape.</summary>
        public StateShape Shape { get; }
    }

    /// <summary>A hyperparameter (<c>float</c>) with its default value.</summary>
    [AttributeUsage(AttributeTargets.Parameter)]
    public sealed class HyperAttribute : Attribute
    {
        /// <summary>A hyperparameter without a default is rejected by the generator (FUSED007).</summary>
        public HyperAttribute() { }
        /// <summary>A hyperparameter whose default is <paramref name="defaultValue"/> (rounded to float32 when used).</summary>
        public HyperAttribute(double defaultValue) { Default = defaultValue; HasDefault = true; }
        /// <summary>The declared default (0 when none was given).</summary>
        public double Default { get; }
        /// <summary>Whether a default was declared.</summary>
        public bool HasDefault { get; }
    }

    /// <summary>The step counter (<c>int</c> or <c>float</c>): 1 at the first step.</summary>
    [AttributeUsage(AttributeTargets.Parameter)]
    public sealed class StepAttribute : Attribute { }
}
