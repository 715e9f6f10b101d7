using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Fused.Ir;

namespace Fused.Search.Mutation
{
    /// <summary>A child program and how it was made from its parent.</summary>
    public sealed record MutationResult(RuleProgram Program, string Description);

    /// <summary>
    /// Mutations on the output DAG (Lion's insert / delete / modify, plus adding and removing a state
    /// buffer). Every result is normalized (<see cref="ProgramNormalizer"/>), passes
    /// <see cref="ProgramValidity"/> and differs structurally from its parent; failed attempts are
    /// simply retried with fresh random choices.
    /// </summary>
    public sealed class ProgramMutator
    {
        private readonly SearchLimits _limits;

        public ProgramMutator(SearchLimits? limits = null) => _limits = limits ?? SearchLimits.Default;

        public SearchLimits Limits => _limits;

        /// <summary>Mutates a normalized, valid program.</summary>
        public MutationResult Mutate(RuleProgram parent, SearchRandom rng)
        {
            var parentHash = ProgramIdentity.Structure(parent);
            for (int attempt = 0; attempt < 500; attempt++)
            {
                (RuleProgram? candidate, string description) = ApplyOnce(parent, rng);
                if (candidate == null) continue;
                RuleProgram normalized;
                try { normalized = ProgramNormalizer.Run(candidate); }
                catch (IrException) { continue; }
                if (ProgramValidity.Check(normalized, _limits) != null) continue;
                if (ProgramIdentity.Structure(normalized) == parentHash) continue;
                return new MutationResult(normalized with { Name = parent.Name }, description);
            }
            throw new InvalidOperationException("no valid mutation found in 500 attempts for " + IrText.Write(parent));
        }

        /// <summary>One raw mutation attempt, before normalization and validity checks (null: not applicable).</summary>
        internal (RuleProgram?, string) ApplyOnce(RuleProgram p, SearchRandom rng)
        {
            double x = rng.NextDouble();
            if (x < 0.35) return Insert(p, rng);
            if (x < 0.55) return Delete(p, rng);
            if (x < 0.67) return SwapArgument(p, rng);
            if (x < 0.82) return PerturbConstant(p, rng);
            if (x < 0.93) return ChangeFunction(p, rng);
            if (x < 0.97) return AddState(p, rng);
            return RemoveState(p, rng);
        }

        // ---- pools of values a new argument may be ----

        private static List<Node> F32Pool(RuleProgram p, IrBuilder b, HashSet<Node>? exclude)
        {
            var pool = new List<Node>();
            foreach (var n in p.Nodes()) if (n.Type == IrType.F32 && (exclude == null || !exclude.Contains(n))) pool.Add(n);
            for (int i = 0; i < p.Buffers.Count; i++) pool.Add(b.Load(i));
            for (int h = 0; h < p.Hypers.Count; h++) pool.Add(b.Hyper(h));
            pool.Add(b.Step());
            return pool;
        }

        private static Node Argument(List<Node> pool, IrBuilder b, SearchRandom rng) =>
            rng.Chance(0.3) ? b.Const(FunctionSet.SampleConstant(rng)) : pool[rng.Next(pool.Count)];

        /// <summary>A use of a float value: a source slot of a node, or an output (User null).</summary>
        private readonly record struct Site(Node? User, int Index, int Buffer, Node Value);

        private static List<Site> Sites(RuleProgram p, IEnumerable<Node> nodes, bool outputs)
        {
            var sites = new List<Site>();
            foreach (var u in nodes)
                for (int i = 0; i < u.Sources.Length; i++)
                    if (u.Sources[i].Type == IrType.F32) sites.Add(new Site(u, i, -1, u.Sources[i]));
            if (outputs) foreach (var o in p.Outputs) sites.Add(new Site(null, 0, o.Buffer, o.Value));
            return sites;
        }

        private static RuleProgram ReplaceAt(RuleProgram p, Site site, Node value, IrBuilder b)
        {
            if (site.User == null) return ProgramEdits.SetOutput(p, site.Buffer, value);
            var sources = site.User.Sources.SetItem(site.Index, value);
            return ProgramEdits.Replace(p, site.User, b.Make(site.User.Op, sources, site.User.Value, site.User.Index));
        }

        // ---- the mutations ----

        private (RuleProgram?, string) Insert(RuleProgram p, SearchRandom rng)
        {
            var b = new IrBuilder();
            var sites = Sites(p, p.Nodes(), outputs: true);
            var site = sites[rng.Next(sites.Count)];
            var pool = F32Pool(p, b, site.User == null ? null : ProgramEdits.UsersClosure(p, site.User));
            var old = site.Value;
            Node made;
            double c = rng.NextDouble();
            if (c < 0.35)
            {
                made = b.Make(FunctionSet.Sample(FunctionSet.Unary, rng), old);
            }
            else if (c < 0.85)
            {
                var op = FunctionSet.Sample(FunctionSet.Binary, rng);
                var other = Argument(pool, b, rng);
                made = rng.Chance(0.5) ? b.Make(op, old, other) : b.Make(op, other, old);
            }
            else if (c < 0.91)
            {
                // Interpolation with another value (Lion's update and momentum are Lerps of m and g): old + t·(other − old).
                var other = Argument(pool, b, rng);
                var t = b.Const(rng.Chance(0.5) ? (float)Math.Pow(2, -1 - 4 * rng.NextDouble()) : FunctionSet.SampleConstant(rng));
                made = rng.Chance(0.5) ? b.Lerp(old, other, t) : b.Lerp(other, old, t);
            }
            else if (c < 0.94)
            {
                // Clipping to ±a bound (update clipping, as in Adafactor and Lion's sign as its limit).
                float bound = Math.Abs(FunctionSet.SampleConstant(rng));
                made = b.Clamp(old, b.Const(-bound), b.Const(bound));
            }
            else
            {
                var cmp = b.Make(FunctionSet.Sample(FunctionSet.Compare, rng), rng.Chance(0.5) ? old : Argument(pool, b, rng), Argument(pool, b, rng));
                var other = Argument(pool, b, rng);
                made = rng.Chance(0.5) ? b.Where(cmp, old, other) : b.Where(cmp, other, old);
            }
            return (ReplaceAt(p, site, made, b), $"insert {made.Op} at {Describe(p, site)}");
        }

        private (RuleProgram?, string) Delete(RuleProgram p, SearchRandom rng)
        {
            var candidates = p.Nodes().Where(n => !n.IsLeaf && n.Type == IrType.F32 && n.Sources.Any(s => s.Type == IrType.F32)).ToList();
            if (candidates.Count == 0) return (null, "");
            var n = candidates[rng.Next(candidates.Count)];
            var sources = n.Sources.Where(s => s.Type == IrType.F32).ToList();
            var keep = sources[rng.Next(sources.Count)];
            return (ProgramEdits.Replace(p, n, keep), $"delete {n.Op}");
        }

        private (RuleProgram?, string) SwapArgument(RuleProgram p, SearchRandom rng)
        {
            var b = new IrBuilder();
            var users = p.Nodes().Where(n => !n.IsLeaf && OpInfo.Group(n.Op) != OpGroup.Reduction).ToList();
            if (users.Count == 0) return (null, "");
            var u = users[rng.Next(users.Count)];
            int i = rng.Next(u.Sources.Length);
            var pool = F32Pool(p, b, ProgramEdits.UsersClosure(p, u));
            Node replacement = u.Sources[i].Type == IrType.Bool
                ? b.Make(FunctionSet.Sample(FunctionSet.Compare, rng), Argument(pool, b, rng), Argument(pool, b, rng))
                : Argument(pool, b, rng);
            if (replacement.Equals(u.Sources[i])) return (null, "");
            var made = b.Make(u.Op, u.Sources.SetItem(i, replacement), u.Value, u.Index);
            return (ProgramEdits.Replace(p, u, made), $"swap argument {i} of {u.Op}");
        }

        /// <summary>
        /// Perturbs a constant, or the default of a hyperparameter other than lr (β, ε, weight decay), which stays a
        /// hyperparameter (so a fair-start search still reads it relative to tuned AdamW, <see cref="Evaluation.SpeedupScorer.TaskHypers"/>):
        /// a value in [0.5, 1) moves as 1 − (1 − v)·2^N(0,1) (β stays below 1 and 0.9 ↔ 0.99 is one step), others as
        /// v·2^N(0,1), occasionally with the sign flipped.
        /// </summary>
        private (RuleProgram?, string) PerturbConstant(RuleProgram p, SearchRandom rng)
        {
            var values = p.Nodes().Where(n => n.Op == Op.Const ||
                (n.Op == Op.Hyper && p.Hypers[n.Index].Name != Evaluation.EvaluationFunnel.LearningRateName)).ToList();
            if (values.Count == 0) return (null, "");
            var c = values[rng.Next(values.Count)];
            double old = c.Op == Op.Const ? c.Value : (float)p.Hypers[c.Index].Default;
            double v = PerturbValue(old, rng);
            if (c.Op == Op.Hyper)
            {
                var hypers = p.Hypers.ToArray();
                hypers[c.Index] = hypers[c.Index] with { Default = (float)v };
                return (p with { Hypers = hypers.ToEquatableArray() }, $"perturb hyperparameter {p.Hypers[c.Index].Name} {old:G4} -> {(float)v:G4}");
            }
            var b = new IrBuilder();
            return (ProgramEdits.Replace(p, c, b.Const((float)v)), $"perturb constant {old:G4} -> {(float)v:G4}");
        }

        internal static double PerturbValue(double v, SearchRandom rng)
        {
            if (v == 0) return FunctionSet.SampleConstant(rng);
            double result = v >= 0.5 && v < 1 ? 1 - (1 - v) * Math.Pow(2, rng.NextGaussian()) : v * Math.Pow(2, rng.NextGaussian());
            return rng.Chance(0.1) ? -result : result;
        }

        private (RuleProgram?, string) ChangeFunction(RuleProgram p, SearchRandom rng)
        {
            var candidates = p.Nodes().Where(n => FunctionSet.PeersOf(n.Op) != null).ToList();
            if (candidates.Count == 0) return (null, "");
            var n = candidates[rng.Next(candidates.Count)];
            var op = FunctionSet.Sample(FunctionSet.PeersOf(n.Op)!, rng);
            if (op == n.Op) return (null, "");
            var b = new IrBuilder();
            return (ProgramEdits.Replace(p, n, b.Make(op, n.Sources, n.Value, n.Index)), $"change {n.Op} to {op}");
        }

        private (RuleProgram?, string) AddState(RuleProgram p, SearchRandom rng)
        {
            if (p.StateCount >= _limits.MaxStates) return (null, "");
            var b = new IrBuilder();
            var withState = ProgramEdits.AddState(p, out int k);
            var pool = F32Pool(p, b, null);
            var input = rng.Chance(0.6) ? b.Load(RuleProgram.GradBuffer) : pool[rng.Next(pool.Count)];
            float[] decays = { 0.9f, 0.99f, 0.999f, 0.5f };
            float decay = rng.Chance(0.7) ? decays[rng.Next(decays.Length)] : (float)rng.NextDouble();
            var newValue = b.Add(b.Mul(b.Const(decay), b.Load(k)), b.Mul(b.Const(1f - decay), input));
            withState = ProgramEdits.SetOutput(withState, k, newValue);
            // Let the parameter's update see it: one use in the parameter's DAG now reads the state.
            var param = withState.OutputOf(RuleProgram.ParamBuffer)!;
            var sites = Sites(withState, Node.TopologicalOrder(new[] { param }), outputs: false);
            if (sites.Count == 0) return (null, "");
            var site = sites[rng.Next(sites.Count)];
            var read = rng.Chance(0.5) ? newValue : b.Load(k);
            return (ReplaceAt(withState, site, read, b), $"add state {withState.Buffers[k].Name} (EMA {decay:G3})");
        }

        private (RuleProgram?, string) RemoveState(RuleProgram p, SearchRandom rng)
        {
            var states = p.StateBuffers.ToList();
            if (states.Count == 0) return (null, "");
            int k = states[rng.Next(states.Count)];
            var b = new IrBuilder();
            var replacement = rng.Chance(0.5) ? b.Load(RuleProgram.GradBuffer) : b.Const(0f);
            return (ProgramEdits.RemoveBuffer(p, k, replacement), $"remove state {p.Buffers[k].Name}");
        }

        private static string Describe(RuleProgram p, Site site) =>
            site.User == null ? "output " + p.Buffers[site.Buffer].Name : $"argument {site.Index} of {site.User.Op}";
    }
}
