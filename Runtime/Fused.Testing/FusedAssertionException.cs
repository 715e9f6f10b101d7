using System;

namespace Fused.Testing
{
    /// <summary>
    /// A Fused.Testing check failed. Its message says what differed and where; test frameworks (xunit, NUnit, MSTest)
    /// report any exception as a failed test, so no framework is referenced.
    /// </summary>
    public sealed class FusedAssertionException : Exception
    {
        /// <summary>A failure with its readable explanation.</summary>
        public FusedAssertionException(string message) : base(message) { }
    }
}
