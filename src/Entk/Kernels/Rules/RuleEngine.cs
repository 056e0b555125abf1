using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using Entk.Models;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Kernels.Rules
{
    /// <summary>
    /// The own-model engine: per-tensor eNTK contributions of a wrapped TorchSharp module from layer rules
    /// (<see cref="ILayerRule"/>) fed by forward hooks, with the generic per-sample autograd route for every tensor no
    /// rule covers (or whose rule fails the on-data check). One capture pass per sample chunk runs the forward pass once
    /// and one backward pass per virtual output (C for traced and flattened kernels, 1 for the all-pairs mean) over the
    /// whole chunk; the rules turn the captured inputs and cotangents into factors, and every tensor's contribution is
    /// contracted by whichever of the factored (pairwise) or per-sample-gradient forms costs fewer FLOPs.
    /// </summary>
    internal sealed class RuleEngine
    {
        private const double CheckTolerance64 = 1e-8, CheckTolerance32 = 1e-3;

        private readonly TorchModuleModel _model;
        private readonly HookedModule[] _modules;
        private readonly int[] _moduleOf;          // per layout tensor: hooked module index or −1
        private readonly int[] _slotOf;            // per layout tensor: position in the module's covered list
        private readonly string?[] _reason;        // per layout tensor: why it is generic (null: covered)

        private sealed class HookedModule
        {
            public HookedModule(nn.Module<Tensor, Tensor> module, ILayerRule rule, string prefix, int[] tensors)
            {
                Module = module;
                Rule = rule;
                Prefix = prefix;
                Tensors = tensors;
            }

            public nn.Module<Tensor, Tensor> Module { get; }

            public ILayerRule Rule { get; }

            public string Prefix { get; }

            /// <summary>Layout index per covered parameter (−1: not in the layout).</summary>
            public int[] Tensors { get; }
        }

        private sealed class Call
        {
            public Call(int module, Tensor input, Tensor output)
            {
                Module = module;
                Input = input;
                Output = output;
            }

            public int Module { get; }

            public Tensor Input { get; }

            public Tensor Output { get; }
        }

        private RuleEngine(TorchModuleModel model, HookedModule[] modules, int[] moduleOf, int[] slotOf, string?[] reason)
        {
            _model = model;
            _modules = modules;
            _moduleOf = moduleOf;
            _slotOf = slotOf;
            _reason = reason;
        }

        /// <summary>Matches rules to the module's layers. Returns null when no tensor is covered.</summary>
        public static RuleEngine? Create(TorchModuleModel model, IReadOnlyList<ILayerRule>? userRules)
        {
            var rules = (userRules ?? Array.Empty<ILayerRule>()).Concat(LayerRules.Default).ToArray();
            var layout = model.Layout;
            int n = layout.Tensors.Count;
            var moduleOf = Enumerable.Repeat(-1, n).ToArray();
            var slotOf = Enumerable.Repeat(-1, n).ToArray();
            var reason = new string?[n];
            var modules = new List<HookedModule>();
            var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance);
            var typeOf = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (prefix, m) in model.Module.named_modules())
            {
                foreach (var (local, _) in m.named_parameters(false))
                    typeOf[prefix.Length == 0 ? local : prefix + "." + local] = (prefix.Length == 0 ? "the root module" : "module '" + prefix + "'") + " (" + m.GetType().Name + ")";
                if (m is not nn.Module<Tensor, Tensor> hm || !seen.Add(m)) continue;
                foreach (var rule in rules)
                {
                    IReadOnlyList<string>? covered;
                    try { covered = rule.Covers(m); }
                    catch (Exception e) when (e is not OutOfMemoryException) { covered = null; }
                    if (covered is null || covered.Count == 0) continue;
                    var idx = new int[covered.Count];
                    for (int i = 0; i < covered.Count; i++)
                    {
                        string full = prefix.Length == 0 ? covered[i] : prefix + "." + covered[i];
                        idx[i] = layout.Contains(full) ? layout.IndexOf(full) : -1;
                        if (idx[i] < 0) continue;
                        if (moduleOf[idx[i]] >= 0)
                        {
                            reason[idx[i]] = "the parameter belongs to several modules";
                            moduleOf[idx[i]] = -2;
                            idx[i] = -1;
                            continue;
                        }
                        if (moduleOf[idx[i]] == -2) { idx[i] = -1; continue; }
                        moduleOf[idx[i]] = modules.Count;
                        slotOf[idx[i]] = i;
                    }
                    modules.Add(new HookedModule(hm, rule, prefix, idx));
                    break;
                }
            }
            for (int t = 0; t < n; t++)
            {
                if (moduleOf[t] == -2) moduleOf[t] = -1;
                if (moduleOf[t] < 0 && reason[t] is null)
                    reason[t] = "no layer rule for " + (typeOf.TryGetValue(layout.Tensors[t].Name, out var where) ? where : "its module");
            }
            if (moduleOf.All(m => m < 0)) return null;
            return new RuleEngine(model, modules.ToArray(), moduleOf, slotOf, reason);
        }

        /// <summary>Whether tensor t is covered by a rule (after the on-data check).</summary>
        public bool Covered(int t) => _moduleOf[t] >= 0;

        /// <summary>The route of every tensor.</summary>
        public TensorRoute[] Routes(Func<int, string>? ruleDetail = null)
        {
            var layout = _model.Layout;
            var r = new TensorRoute[layout.Tensors.Count];
            for (int t = 0; t < r.Length; t++)
            {
                string name = layout.Tensors[t].Name;
                r[t] = _moduleOf[t] >= 0
                    ? new TensorRoute(name, TensorRouteKind.LayerRule, _modules[_moduleOf[t]].Rule.Name + " rule" + (ruleDetail is null ? "" : ", " + ruleDetail(t)))
                    : new TensorRoute(name, TensorRouteKind.Generic, "generic: per-sample autograd", _reason[t]);
            }
            return r;
        }

        private static Tensor ProbeWeights(long b, long v, ScalarType dtype)
        {
            var gen = new torch.Generator((ulong)(12345 + 7919 * b + v), torch.CPU);
            return torch.randn(new long[] { b, v }, ScalarType.Float64, generator: gen).to(dtype);
        }

        /// <summary>
        /// Checks every rule on the first samples: the rule's gradient summed with random weights over samples and
        /// outputs must equal autograd's (a tensor that fails moves to the generic route, with the reason), and the model's
        /// outputs must not mix samples of a batch.
        /// </summary>
        public void CheckOnData(Tensor x, Tensor w)
        {
            long b = Math.Min(x.shape[0], 16);
            using var scope = torch.NewDisposeScope();
            using var threads = TorchThreads.ForSmallOperations();        // 16 samples: tiny operations
            var xb = x.narrow(0, 0, b);
            using var session = _model.OpenSession();
            var dtype = session.Leaves[0].dtype;
            double tol = dtype == ScalarType.Float32 ? CheckTolerance32 : CheckTolerance64;
            using var grad = torch.enable_grad();
            var calls = new List<Call>();
            var covered = Enumerable.Range(0, _moduleOf.Length).Where(Covered).ToArray();
            Tensor y;
            using (Hook(calls, null)) y = session.Forward(xb);
            if (!torch.isfinite(y).all().item<bool>())
                throw new NonFiniteValueException("model", "its outputs at these inputs (the forward pass overflows or gives NaN)", double.NaN);
            // Samples must not interact: the first row alone gives the same output as in the batch.
            if (b > 1)
            {
                using var noGrad = torch.no_grad();
                var y0 = session.Forward(x.narrow(0, 0, 1));
                double diff = (y0 - y.narrow(0, 0, 1)).abs().max().item<double>();
                double scale = Math.Max(y.abs().max().item<double>(), 1e-300);
                if (!(diff <= Math.Max(tol, 1e-10) * scale))
                    throw new EntkArgumentException("model", "outputs that depend on each sample alone (eval mode, no statistics over the batch)",
                        Check.Inv($"row 0 changes by {Check.R(diff / scale)} (relative) when evaluated alone"),
                        "The eNTK is defined per sample; a module that mixes the samples of a batch (e.g. batch statistics) has none.");
            }
            if (!y.requires_grad) return;
            // Rules are linear in the cotangents, so one random virtual output checks them as well as V would, at the cost
            // of two backward passes whatever the number of outputs.
            var wr = ProbeWeights(1, w.shape[1], ScalarType.Float64);
            var yv = y.mm(wr.t());                                                         // (B, 1)
            long v = yv.shape[1];
            var pw = ProbeWeights(b, v, ScalarType.Float64) + 1.5;
            var leaves = covered.Select(t => session.Leaves[t]).ToArray();
            var cot = Cotangents(calls, yv, retainLast: true);
            var reference = torch.autograd.grad(new[] { (yv * pw).sum() }, leaves, allow_unused: true);
            var factors = Factors(calls, cot, covered, out var failures);
            for (int i = 0; i < covered.Length; i++)
            {
                int t = covered[i];
                if (failures.TryGetValue(t, out var why)) { Demote(t, why); continue; }
                var refG = reference[i] is null || reference[i].IsInvalid ? torch.zeros(_model.Layout.Tensors[t].Count, ScalarType.Float64) : reference[i].to(ScalarType.Float64).reshape(-1);
                Tensor mine;
                try
                {
                    mine = factors[t] is null ? torch.zeros_like(refG) : factors[t]!.WeightedSum(pw.to(dtype)).to(ScalarType.Float64).reshape(-1);
                }
                catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException or InvalidOperationException)
                {
                    Demote(t, "the rule failed on this data (" + e.GetType().Name + ")");
                    continue;
                }
                if (mine.numel() != refG.numel()) { Demote(t, Check.Inv($"the rule gave {mine.numel()} gradient entries, expected {refG.numel()}")); continue; }
                double err = (mine - refG).abs().max().item<double>();
                double sc = Math.Max(refG.abs().max().item<double>(), 1e-300);
                if (!(err <= tol * sc) && !(err == 0))
                    Demote(t, Check.Inv($"the {_modules[_moduleOf[t]].Rule.Name} rule does not reproduce autograd's gradient on this data (relative error {err / sc:E1}); the parameter is used outside the module, or the module is called without hooks (forward() instead of call())"));
            }
        }

        private void Demote(int t, string why)
        {
            _moduleOf[t] = -1;
            _reason[t] = why;
        }

        private sealed class HookScope : IDisposable
        {
            private readonly List<IDisposable> _removers;

            public HookScope(List<IDisposable> removers) => _removers = removers;

            public void Dispose()
            {
                foreach (var r in _removers) r.Dispose();
            }
        }

        private sealed class Remover : IDisposable
        {
            private readonly Action _remove;

            public Remover(Action remove) => _remove = remove;

            public void Dispose() => _remove();
        }

        /// <summary>Registers forward hooks on the hooked modules (those with a tensor in <paramref name="only"/>, or all).</summary>
        private HookScope Hook(List<Call> calls, ISet<int>? only)
        {
            var removers = new List<IDisposable>();
            for (int mi = 0; mi < _modules.Length; mi++)
            {
                var hm = _modules[mi];
                if (!hm.Tensors.Any(t => t >= 0 && _moduleOf[t] == mi && (only is null || only.Contains(t)))) continue;
                int index = mi;
                var h = hm.Module.register_forward_hook((m, input, output) =>
                {
                    calls.Add(new Call(index, input.detach(), output));
                    return output.alias();     // containers (e.g. Sequential) dispose what a layer returns; keep `output` alive
                });
                removers.Add(new Remover(() => h.remove()));
            }
            return new HookScope(removers);
        }

        /// <summary>Cotangents ∂y_v/∂(call output) for every call: per call a (B, V, …) tensor.</summary>
        private static Tensor[] Cotangents(List<Call> calls, Tensor yv, bool retainLast)
        {
            long v = yv.shape[1];
            var outs = calls.Select(c => c.Output).ToArray();
            var per = new Tensor[calls.Count][];
            for (int c = 0; c < calls.Count; c++) per[c] = new Tensor[v];
            for (long k = 0; k < v; k++)
            {
                var g = outs.Length == 0 ? Array.Empty<Tensor>()
                    : torch.autograd.grad(new[] { yv.select(1, k).sum() }, outs, retain_graph: retainLast || k < v - 1, allow_unused: true);
                for (int c = 0; c < calls.Count; c++)
                    per[c][k] = g[c] is null || g[c].IsInvalid ? torch.zeros_like(outs[c]) : g[c];
            }
            return per.Select(p => torch.stack(p, 1)).ToArray();
        }

        /// <summary>Factors per layout tensor (null: the module was never called, so the contribution is zero).</summary>
        private GradientFactors?[] Factors(List<Call> calls, Tensor[] cotangents, IReadOnlyCollection<int> wanted, out Dictionary<int, string> failures)
        {
            var result = new GradientFactors?[_moduleOf.Length];
            var lists = new Dictionary<int, List<GradientFactors>>();
            failures = new Dictionary<int, string>();
            var wantedSet = new HashSet<int>(wanted);
            for (int c = 0; c < calls.Count; c++)
            {
                var hm = _modules[calls[c].Module];
                IReadOnlyList<GradientFactors> fs;
                try
                {
                    fs = hm.Rule.Factors(hm.Module, calls[c].Input, cotangents[c]);
                }
                catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException or InvalidOperationException)
                {
                    foreach (int t in hm.Tensors) if (t >= 0) failures[t] = "the " + hm.Rule.Name + " rule failed (" + e.Message + ")";
                    continue;
                }
                if (fs is null || fs.Count != hm.Tensors.Length)
                {
                    foreach (int t in hm.Tensors) if (t >= 0) failures[t] = "the " + hm.Rule.Name + " rule returned the wrong number of factors";
                    continue;
                }
                for (int i = 0; i < fs.Count; i++)
                {
                    int t = hm.Tensors[i];
                    if (t < 0 || !wantedSet.Contains(t)) continue;
                    if (fs[i] is null || fs[i].Count != _model.Layout.Tensors[t].Count)
                    {
                        failures[t] = "the " + hm.Rule.Name + " rule's factors do not have the tensor's element count";
                        continue;
                    }
                    if (!lists.TryGetValue(t, out var l)) lists[t] = l = new List<GradientFactors>();
                    l.Add(fs[i]);
                }
            }
            foreach (var (t, l) in lists) result[t] = l.Count == 1 ? l[0] : new SumOfFactors(l);
            return result;
        }

        /// <summary>Per-chunk factors of the tensors in <paramref name="tensors"/> (rule-covered ones by capture, the others generic).</summary>
        public GradientFactors?[] CaptureChunk(Tensor x, Tensor w, IReadOnlyCollection<int> tensors, ScalarType? computeType)
        {
            var covered = tensors.Where(Covered).ToArray();
            var generic = tensors.Where(t => !Covered(t)).ToArray();
            var result = new GradientFactors?[_moduleOf.Length];
            using (var session = _model.OpenSession())
            {
                if (covered.Length > 0)
                {
                    using var scope = torch.NewDisposeScope();
                    using var grad = torch.enable_grad();
                    var calls = new List<Call>();
                    Tensor y;
                    using (Hook(calls, new HashSet<int>(covered))) y = session.Forward(x);
                    if (y.requires_grad)
                    {
                        var yv = y.mm(w.t());
                        var cot = Cotangents(calls, yv, retainLast: false);
                        var fs = Factors(calls, cot, covered, out var failures);
                        if (failures.Count > 0)
                            throw new InvalidOperationException("internal: a layer rule that passed the on-data check failed on a later chunk: " + failures.First().Value);
                        foreach (int t in covered)
                        {
                            if (fs[t] is null) continue;
                            if (computeType is ScalarType ct) fs[t] = Cast(fs[t]!, ct);
                            fs[t]!.Detach();
                            result[t] = fs[t];
                        }
                    }
                }
                if (generic.Length > 0)
                {
                    using var scope = torch.NewDisposeScope();
                    var parts = PerSampleJacobians.Loop(session, x, w, generic, generic.Select(t => (long)_model.Layout.Tensors[t].Count).ToArray(), null);
                    for (int i = 0; i < generic.Length; i++)
                    {
                        var g = computeType is ScalarType ct ? parts[i].to(ct) : parts[i];
                        var f = new PerSampleGradientFactors(g);
                        f.Detach();
                        result[generic[i]] = f;
                    }
                }
            }
            return result;
        }

        private static GradientFactors Cast(GradientFactors f, ScalarType type) => f.To(type);

        /// <summary>
        /// A probe of the per-sample memory from one captured sample with one and with two virtual outputs (stored factors are
        /// an input part plus a part proportional to V, so V outputs cost b₁ + (V − 1)(b₂ − b₁) without V backward passes):
        /// the stored factor bytes of every tensor (a module's shared inputs and cotangents counted once, on its largest
        /// tensor), the cotangent bytes and the forward activations of the hooked layers. Generic tensors: 8·V·P_t.
        /// </summary>
        public MemoryProfile Profile(Tensor x, Tensor w)
        {
            using var scope = torch.NewDisposeScope();
            using var threads = TorchThreads.ForSmallOperations();        // one sample: tiny operations
            var all = Enumerable.Range(0, _moduleOf.Length).ToArray();
            long v = w.shape[0];
            var stored = new long[all.Length];
            long cot = 0, act = 0;
            GradientFactors?[] work = new GradientFactors?[all.Length];
            var covered = all.Where(Covered).ToArray();
            if (covered.Length > 0)
            {
                var x1 = x.narrow(0, 0, 1);
                (long[] Bytes, long Cot, long Act, GradientFactors?[] Work) Probe(Tensor wp)
                {
                    var b = new long[all.Length];
                    long c1 = 0, a1 = 0;
                    using var session = _model.OpenSession();
                    using var grad = torch.enable_grad();
                    var calls = new List<Call>();
                    Tensor y;
                    using (Hook(calls, new HashSet<int>(covered))) y = session.Forward(x1);
                    foreach (var call in calls) a1 += (call.Input.numel() + call.Output.numel()) * call.Output.element_size();
                    if (!y.requires_grad) return (b, 0, a1, new GradientFactors?[all.Length]);
                    var cotangents = Cotangents(calls, y.mm(wp.t()), retainLast: false);
                    foreach (var ct in cotangents) c1 += ct.numel() * ct.element_size();
                    var f = Factors(calls, cotangents, covered, out _);
                    foreach (var group in covered.Where(t => f[t] is not null).GroupBy(t => _moduleOf[t]))
                    {
                        // The tensors of one module share its inputs and cotangents: count them once, on the largest.
                        int top = group.OrderByDescending(t => f[t]!.StoredBytes).First();
                        b[top] = f[top]!.StoredBytes;
                    }
                    foreach (var g in f) g?.Detach();
                    return (b, c1, a1, f);
                }
                var one = Probe(w.narrow(0, 0, 1));
                var two = v >= 2 ? Probe(w.narrow(0, 0, 2)) : one;
                work = one.Work;
                foreach (int t in covered)
                    stored[t] = MemoryBudget.Sum(one.Bytes[t], MemoryBudget.Product(Math.Max(0, two.Bytes[t] - one.Bytes[t]), Math.Max(0, v - 1)));
                cot = MemoryBudget.Sum(one.Cot, MemoryBudget.Product(Math.Max(0, two.Cot - one.Cot), Math.Max(0, v - 1)));
                act = one.Act;
            }
            foreach (int t in all.Where(t => !Covered(t))) stored[t] = MemoryBudget.Product(8, v, _model.Layout.Tensors[t].Count);
            var generic = all.Where(t => !Covered(t)).ToArray();
            long Work(int t, long samples, long chunk, bool full) => work[t] is GradientFactors g
                ? g.ContractionWorkBytes(samples, chunk, v, full)
                : MemoryBudget.Sum(MemoryBudget.Product(8, samples, v, _model.Layout.Tensors[t].Count), MemoryBudget.Product(8, chunk, chunk, full ? v * v : 1, 2));
            return new MemoryProfile(stored, cot, act, v, Work);     // keeps the one-sample probe factors (tiny) for their shapes
        }

        /// <summary>Stored factor bytes per sample for each tensor (see <see cref="Profile"/>).</summary>
        public long[] FactorBytesPerSample(Tensor x, Tensor w) => Profile(x, w).Stored;
    }

    /// <summary>Per-sample memory of the layer-rule engine (bytes).</summary>
    internal sealed class MemoryProfile
    {
        private readonly Func<int, long, long, bool, long> _work;

        public MemoryProfile(long[] stored, long cotangents, long activations, long outputs, Func<int, long, long, bool, long> work)
        {
            _work = (t, n, b, full) => work(t, n, b, full);
            Stored = stored;
            Cotangents = cotangents;
            Activations = activations;
            Outputs = outputs;
        }

        /// <summary>Stored factors per tensor (a module's shared tensors counted once).</summary>
        public long[] Stored { get; }

        /// <summary>The cotangents at the hooked layers' outputs for all V virtual outputs.</summary>
        public long Cotangents { get; }

        /// <summary>Inputs and outputs of the hooked layers in one forward pass (a proxy for the autograd graph).</summary>
        public long Activations { get; }

        /// <summary>V.</summary>
        public long Outputs { get; }

        /// <summary>The contraction's transient bytes for tensor t (N samples in all, chunks of B, full or traced).</summary>
        public long WorkBytes(int t, long samples, long chunk, bool full) => _work(t, samples, chunk, full);

        /// <summary>
        /// The capture's transient bytes for a chunk of B samples: the V separate cotangents and their stacked copy, and the
        /// forward graph (about three times the hooked layers' inputs and outputs).
        /// </summary>
        public long CaptureBytes(long chunk) => MemoryBudget.Product(MemoryBudget.Sum(MemoryBudget.Product(2, Cotangents), MemoryBudget.Product(3, Activations)), chunk);
    }

    /// <summary>The sum of several factor sets of one tensor (a module called more than once in a forward pass).</summary>
    internal sealed class SumOfFactors : GradientFactors
    {
        private readonly List<GradientFactors> _parts;

        public SumOfFactors(List<GradientFactors> parts) : base(parts[0].Samples, parts[0].Outputs, parts[0].Count) => _parts = parts;

        internal override Tensor PerSampleGradients()
        {
            var g = _parts[0].PerSampleGradients().clone();
            for (int i = 1; i < _parts.Count; i++) g.add_(_parts[i].PerSampleGradients());
            return g;
        }

        internal override Tensor WeightedSum(Tensor w)
        {
            var s = _parts[0].WeightedSum(w).clone();
            for (int i = 1; i < _parts.Count; i++) s.add_(_parts[i].WeightedSum(w));
            return s;
        }

        internal override Tensor TransposeProduct(Tensor u)
        {
            var s = _parts[0].TransposeProduct(u).clone();
            for (int i = 1; i < _parts.Count; i++) s.add_(_parts[i].TransposeProduct(u));
            return s;
        }

        internal override Tensor Product(Tensor m)
        {
            var s = _parts[0].Product(m).clone();
            for (int i = 1; i < _parts.Count; i++) s.add_(_parts[i].Product(m));
            return s;
        }

        internal override double FormFlops => _parts.Sum(p => p.FormFlops);

        internal override long StoredBytes => MemoryBudget.Sum(_parts.Select(p => p.StoredBytes).ToArray());

        internal override GradientFactors To(ScalarType type) => new SumOfFactors(_parts.Select(p => p.To(type)).ToList());

        internal override void Detach()
        {
            foreach (var p in _parts) p.Detach();
        }

        internal override void Release()
        {
            foreach (var p in _parts) p.Release();
        }
    }
}
