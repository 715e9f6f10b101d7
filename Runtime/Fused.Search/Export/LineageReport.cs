using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Fused.Search.Storage;

namespace Fused.Search.Export
{
    /// <summary>A program's ancestry as text, oldest first: generation, id, fitness and the mutation that made each step.</summary>
    public static class LineageReport
    {
        public static string Format(IReadOnlyList<ProgramRecord> lineage)
        {
            var sb = new StringBuilder();
            foreach (var p in Enumerable.Reverse(lineage))
                sb.Append(string.Format(CultureInfo.InvariantCulture, "  gen {0,5}  #{1,-6} fitness {2,8:F4}  {3}{4}\n",
                    p.Generation, p.Id, p.Fitness, p.Mutation, p.Equivalent ? "  (equivalent, reused score)" : ""));
            return sb.ToString();
        }
    }
}
