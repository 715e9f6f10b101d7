using System.Linq;
using Fused.Ir;
using Xunit;
using static Fused.Dsl.Tests.Programs;

namespace Fused.Dsl.Tests
{
    /// <summary>
    /// The planner's choices, checked by counting bytes by hand: when a later pass recomputes what it
    /// needs and when an earlier pass stores it into a temporary; how per-row and per-column values are
    /// laid out.
    /// </summary>
    public sealed class PlannerCostTests
    {
        /// <summary>AdamW's direction u, masked where it disagrees with the gradient, normalised by the mask's mean.</summary>
        private static RuleProgram CautiousAdamW(IrBuilder b)
        {
            Node p = b.Load(0), g = b.Load(1), m = b.Load(2), v = b.Load(3);
            Node lr = b.Hyper(0), b1 = b.Hyper(1), b2 = b.Hyper(2), eps = b.Hyper(3), one = b.Const(1f);
            var mNew = b.Add(b.Mul(b1, m), b.Mul(b.Sub(one, b1), g));
            var vNew = b.Add(b.Mul(b2, v), b.Mul(b.Mul(b.Sub(one, b2), g), g));
            var u = b.Div(mNew, b.Add(b.Make(Op.Sqrt, vNew), eps));
            var mask = b.Where(b.Make(Op.Gt, b.Mul(u, g), b.Const(0f)), one, b.Const(0f));
            var mean = b.Div(b.Make(Op.ReduceSum, mask), b.Shape(ShapeScalar.Numel));
            var pNew = b.Sub(p, b.Mul(lr, b.Div(b.Mul(u, mask), b.Make(Op.Max, mean, b.Const(1e-3f)))));
            return Make("C-AdamW", new[] { "m", "v" }, new[] { ("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8) },
                new[] { Out(0, pNew), Out(2, mNew), Out(3, vNew) });
        }

        [Fact]
        public void A_temporary_is_stored_when_recomputing_would_move_more_bytes()
        {
            // Recomputing u·mask after the cut reads param, grad, m, v (16 B) and must then write m, v
            // there too: 12 + 28 = 40 B. Storing u·mask in pass 0 costs 4 B there and 4 B back: pass 0
            // reads g, m, v and writes m, v, temp (24 B); pass 1 reads param, temp and writes param (12 B).
            var plan = Planner.Plan(CautiousAdamW(new IrBuilder()));
            Assert.Equal(2, plan.PassCount);
            Assert.Equal(1, plan.TempCount);
            int temp = plan.Program.Buffers.Count;
            Assert.Equal(new[] { 1, 2, 3 }, plan.Passes[0].Loads.ToArray());
            Assert.Equal(new[] { 2, 3, temp }, plan.Passes[0].Stores.Select(s => s.Buffer).OrderBy(x => x).ToArray());
            Assert.Equal(new[] { 0, temp }, plan.Passes[1].Loads.ToArray());
            Assert.Equal(new[] { 0 }, plan.Passes[1].Stores.Select(s => s.Buffer).ToArray());
            Assert.Equal(36, plan.BytesPerParameter);
        }

        [Fact]
        public void Ties_and_cheap_inputs_recompute()
        {
            // Lion's cautious variant: recomputing sign(...) from grad and momentum in pass 1 costs what
            // storing it would (28 B either way), so nothing is stored and no memory is spent.
            var b = new IrBuilder();
            Node p = b.Load(0), g = b.Load(1), m = b.Load(2), lr = b.Hyper(0), beta = b.Hyper(1), one = b.Const(1f);
            var u = b.Make(Op.Sign, b.Add(b.Mul(beta, m), b.Mul(b.Sub(one, beta), g)));
            var mask = b.Where(b.Make(Op.Gt, b.Mul(u, g), b.Const(0f)), one, b.Const(0f));
            var mean = b.Div(b.Make(Op.ReduceSum, mask), b.Shape(ShapeScalar.Numel));
            var pNew = b.Sub(p, b.Mul(lr, b.Div(b.Mul(u, mask), b.Make(Op.Max, mean, b.Const(1e-3f)))));
            var mNew = b.Add(b.Mul(beta, m), b.Mul(b.Sub(one, beta), g));
            var lion = Planner.Plan(Make("C-Lion", new[] { "m" }, new[] { ("lr", 1e-4), ("beta", 0.9) }, new[] { Out(0, pNew), Out(2, mNew) }));
            Assert.Equal(0, lion.TempCount);
            Assert.Equal(28, lion.BytesPerParameter);

            // A value of one input used twice after the cut: reading grad again (4 B) beats a temporary (8 B).
            var g2 = b.Mul(g, g);
            var scaled = b.Sub(p, b.Div(b.Mul(g2, g2), b.Make(Op.ReduceSum, g2)));
            var cheap = Planner.Plan(Make("cheap", new string[0], new (string, double)[0], new[] { Out(0, scaled) }));
            Assert.Equal(0, cheap.TempCount);
            Assert.Equal(new[] { 0, 1 }, cheap.Passes[1].Loads.ToArray());
        }

        [Fact]
        public void Per_row_and_per_column_values_are_vectors_and_the_passes_that_read_them_are_row_wise()
        {
            // A factored second moment: r = RowMean(g²), c = ColMean(g²), θ -= lr·g/√(r·c / mean(r)).
            var b = new IrBuilder();
            var buffers = new[]
            {
                new BufferDecl("param", BufferRole.Param), new BufferDecl("grad", BufferRole.Grad),
                new BufferDecl("r", BufferRole.State, StateShape.Row), new BufferDecl("c", BufferRole.State, StateShape.Column),
            };
            Node p = b.Load(0), g = b.Load(1), lr = b.Hyper(0);
            var g2 = b.Mul(g, g);
            var r = b.Div(b.Make(Op.RowSum, g2), b.Shape(ShapeScalar.Cols));
            var c = b.Div(b.Make(Op.ColSum, g2), b.Shape(ShapeScalar.Rows));
            var meanR = b.Div(b.Make(Op.ReduceSum, r), b.Shape(ShapeScalar.Numel));
            var pNew = b.Sub(p, b.Mul(lr, b.Mul(g, b.Make(Op.Rsqrt, b.Mul(b.Div(r, meanR), c)))));
            var program = new RuleProgram("factored", buffers.ToEquatableArray(), new[] { new HyperDecl("lr", 0.01) }.ToEquatableArray(),
                new[] { Out(0, pNew), Out(2, r), Out(3, c) }.ToEquatableArray(), EquatableArray<Statement>.Empty);
            var plan = Planner.Plan(program);

            Assert.True(plan.HasVectors);
            Assert.All(plan.Passes, pass => Assert.True(pass.RowWise));
            // Pass 0 reads grad and accumulates RowSum (a reduction) and ColSum (an operand column).
            Assert.Equal(new[] { 1 }, plan.Passes[0].Loads.Where(x => x < buffers.Length).ToArray());
            Assert.Contains(plan.Passes[0].Reductions, n => n.Op == Op.RowSum);
            Assert.Contains(plan.Passes[0].Stores, s => plan.ExtraOf(s.Buffer)?.Kind == ExtraKind.ColumnSumOperand);
            // The last pass reads c per column and r / mean(r) per row.
            var last = plan.Passes[plan.PassCount - 1];
            Assert.Contains(last.Inputs, i => plan.ExtraOf(i.Buffer)?.Kind == ExtraKind.Column);
            Assert.Contains(plan.Uniforms, u => u.PerRow && u.Node.Equals(b.Div(r, meanR)));
            // Row and column states are written after the last level; only tensor-sized traffic counts.
            Assert.Equal(new[] { 2, 3 }, plan.VectorStores.Select(o => o.Buffer).ToArray());
            Assert.Equal(4 + 12, plan.BytesPerParameter);
        }
    }
}
