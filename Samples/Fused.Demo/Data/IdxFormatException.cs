using System;

namespace Fused.Demo.Data
{
    /// <summary>An IDX data file that cannot be read: the message names the file and what is wrong with it.</summary>
    public sealed class IdxFormatException : Exception
    {
        public IdxFormatException(string path, string problem)
            : base($"{path}: {problem}")
        {
            FilePath = path;
            Problem = problem;
        }

        /// <summary>The file that was being read.</summary>
        public string FilePath { get; }

        /// <summary>What is wrong with it, without the path.</summary>
        public string Problem { get; }
    }
}
