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
    /// <summary>The result of a rule-engine kernel computation: the total, the group kernels and the per-tensor routes.</summary>
    internal sealed class RuleKernelResult
    {
        public RuleKernelResult(Tensor total, Tensor[] groups, TensorRoute[] routes)
        {
            Total = total;
            Groups = groups;
            Routes = routes;
        }

        public Tensor Total { get; }

        public Tensor[] Groups { get; }

        public TensorRoute[] Routes { get; }
    }

    /// <summary>Kernel assembly and the matrix-free operator on top of <see cref="RuleEngine"/>.</summary>
    internal static class RuleKernels
    {
        /// <summary>Seconds per phase of the last <see cref="Compute"/> on this thread (check, profile, capture, materialise, contract), for the benchmark.</summary>
        [ThreadStatic]
        private static Dictionary<string, double>? _phases;

        internal static Dictionary<string, double> LastPhases => _phases ??= new Dictionary<string, double>(StringComparer.Ordinal);

        private static void Phase(string name, System.Diagnostics.Stopwatch clock)
        {
            LastPhases[name] = LastPhases.GetValueOrDefault(name) + clock.Elapsed.TotalSeconds;
            clock.Restart();
        }
        /// <summary>Output weights w (V × C) of a reduction: diag(s) for traced/flattened, s for the all-pairs mean, e_c s_c and e_d s_d for a block.</summary>
        internal static Tensor OutputWeights(KernelReduction reduction, double[] s)
        {
            int c = s.Length;
            switch (reduction.Kind)
            {
                case KernelReductionKind.AllPairsMean:
                    return TorchOps.ToTensor((double[])s.Clone(), 1, c);
                case KernelReductionKind.Block:
                {
                    var wd = new double[2 * c];
                    wd[reduction.OutputC] = s[reduction.OutputC];
                    wd[c + reduction.OutputD] = s[reduction.OutputD];
                    return TorchOps.ToTensor(wd, 2, c);
                }
                default:
                    return torch.diag(TorchOps.ToTensor((double[])s.Clone(), c));
            }
        }

        /// <summary>Virtual outputs V of a reduction for C outputs.</summary>
        internal static long VirtualOutputs(KernelReduction reduction, long c) => reduction.Kind switch
        {
            KernelReductionKind.AllPairsMean => 1,
            KernelReductionKind.Block => 2,
            _ => c,
        };

        /// <summary>
        /// Samples per capture chunk: bounded by an eighth of the budget for the stored factors of the chunk and by 1,024
        /// (larger chunks give no faster GEMMs, and the capture's autograd graph grows with the chunk).
        /// </summary>
        internal static int ChunkSize(long factorBytesPerSample, long n, NtkOptions opts)
        {
            if (opts.ChunkSize is int cs) return (int)Math.Min(cs, n);
            long per = Math.Max(1, factorBytesPerSample * 4);    // factors + autograd graph + cotangents, roughly
            return (int)Math.Clamp(opts.Budget / 8 / per, 1, Math.Min(n, 1024));
        }

        private sealed class Chunk
        {
            public Chunk(long start, long count)
            {
                Start = start;
                Count = count;
            }

            public long Start { get; }

            public long Count { get; }
        }

        private static List<Chunk> Chunks(long n, int size)
        {
            var l = new List<Chunk>();
            for (long s = 0; s < n; s += size) l.Add(new Chunk(s, Math.Min(size, n - s)));
            return l;
        }

        /// <summary>
        /// Splits the tensors into passes whose stored factors (all samples of x1 and x2) fit in <paramref name="available"/>
        /// bytes; one pass when everything fits. Returns null when a single tensor alone does not fit.
        /// </summary>
        private static List<int[]>? Passes(long[] bytesPerSample, long samples, long available)
        {
            var passes = new List<int[]>();
            var cur = new List<int>();
            long used = 0;
            for (int t = 0; t < bytesPerSample.Length; t++)
            {
                long b = MemoryBudget.Product(bytesPerSample[t], samples);
                if (b > available) return null;
                if (used + b > available && cur.Count > 0)
                {
                    passes.Add(cur.ToArray());
                    cur.Clear();
                    used = 0;
                }
                cur.Add(t);
                used += b;
            }
            if (cur.Count > 0) passes.Add(cur.ToArray());
            return passes;
        }

        /// <summary>
        /// The memory plan of <see cref="Compute"/>: the kernels, plus the stored factors of the largest pass, plus the larger of
        /// the capture's transient memory for one chunk and the largest tensor's contraction work (the two phases do not overlap).
        /// </summary>
        internal static MemoryEstimate Estimate(long kernelBytes, MemoryProfile profile, long samples, long budget, bool full, out List<int[]>? passes, out int chunk, NtkOptions opts)
        {
            // The stored factors of a pass may use what the kernels and the transient work leave of the budget.
            long available = Math.Max(0, budget - kernelBytes - budget / 4);
            passes = Passes(profile.Stored, samples, available);
            long stored = passes is null ? MemoryBudget.Product(profile.Stored.Max(), samples) : passes.Max(p => MemoryBudget.Product(p.Sum(t => profile.Stored[t]), samples));
            chunk = ChunkSize(profile.Stored.Sum(), samples, opts);
            long capture = profile.CaptureBytes(chunk);
            int b = chunk;
            long work = Enumerable.Range(0, profile.Stored.Length).Select(t => profile.WorkBytes(t, samples, b, full)).DefaultIfEmpty(0).Max();
            long total = MemoryBudget.Sum(kernelBytes, stored, Math.Max(capture, work));
            return new MemoryEstimate(total, Check.Inv($"kernels {kernelBytes} B + stored layer factors {stored} B ({(passes?.Count ?? 0)} pass(es)) + max(capture of {chunk} samples {capture} B, contraction {work} B) = {MemoryBudgetExceededException.FormatBytes(total)}"));
        }

        /// <summary>
        /// Reduced per-tensor kernels, accumulated into the total and the groups. x2 null means x2 = x1 (only blocks
        /// i ≤ j are contracted and mirrored).
        /// </summary>
        public static RuleKernelResult Compute(RuleEngine engine, NtkModel model, KernelReduction reduction, Tensor x1, Tensor? x2, double[] s, NtkOptions opts, int[] tensorGroup, int groupCount, string paramName)
        {
            int c = model.OutputDimension;
            long n1 = x1.shape[0], n2 = (x2 ?? x1).shape[0];
            long rows = reduction.RowsFor(n1, c), cols = reduction.RowsFor(n2, c);
            long kernelBytes = MemoryBudget.Product(8, rows, cols, groupCount + 2);
            // The kernels alone must fit before anything runs (a probe capture costs one backward pass per output).
            MemoryBudget.Require(Check.Inv($"the {reduction} kernel ({rows} × {cols}) by layer rules (kernels {kernelBytes} B)"), kernelBytes, opts.Budget,
                "Alternatives: fewer inputs, a smaller reduction (TraceMean or AllPairsMean give N×N), EmpiricalNtk.Spectrum (matrix-free when the kernel does not fit), or a larger NtkOptions.MemoryBudgetBytes.");
            var w = OutputWeights(reduction, s);
            long v = w.shape[0];
            LastPhases.Clear();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            engine.CheckOnData(x1, w);
            Phase("check", clock);
            var profile = engine.Profile(x1, w);
            Phase("profile", clock);
            long totalSamples = n1 + (x2 is null ? 0 : n2);
            bool full = reduction.IsFlattened || reduction.Kind == KernelReductionKind.Block;
            var est = Estimate(kernelBytes, profile, totalSamples, opts.Budget, full, out var passes, out int chunk, opts);
            MemoryBudget.Require(Check.Inv($"the {reduction} kernel ({rows} × {cols}) by layer rules ({est.Formula})"), est.Bytes, opts.Budget,
                "Alternatives: fewer inputs, a smaller reduction (TraceMean or AllPairsMean give N×N), EmpiricalNtk.Spectrum (matrix-free when the kernel does not fit), or a larger NtkOptions.MemoryBudgetBytes.");
            var ch1 = Chunks(n1, chunk);
            var ch2 = x2 is null ? ch1 : Chunks(n2, chunk);
            var computeType = opts.Precision == Precision.Float32 ? ScalarType.Float32 : (ScalarType?)null;

            var total = torch.zeros(new long[] { rows, cols }, ScalarType.Float64);
            var groups = new Tensor[groupCount];
            for (int g = 0; g < groupCount; g++) groups[g] = torch.zeros(new long[] { rows, cols }, ScalarType.Float64);
            var detail = new string[model.Layout.Tensors.Count];
            long units = (long)passes!.Count * (ch1.Count + (x2 is null ? 0 : ch2.Count)) + model.Layout.Tensors.Count, done = 0;
            opts.Progress?.Report(new EntkProgress("layer rules", 0, units));
            foreach (var pass in passes)
            {
                var f1 = new GradientFactors?[ch1.Count][];
                var f2 = x2 is null ? f1 : new GradientFactors?[ch2.Count][];
                var retired = new List<GradientFactors>();
                try
                {
                    for (int i = 0; i < ch1.Count; i++)
                    {
                        using var scope = torch.NewDisposeScope();
                        f1[i] = engine.CaptureChunk(x1.narrow(0, ch1[i].Start, ch1[i].Count), w, pass, computeType);
                        opts.Progress?.Report(new EntkProgress("layer rules", ++done, units));
                    }
                    if (x2 is not null)
                        for (int j = 0; j < ch2.Count; j++)
                        {
                            using var scope = torch.NewDisposeScope();
                            f2[j] = engine.CaptureChunk(x2.narrow(0, ch2[j].Start, ch2[j].Count), w, pass, computeType);
                            opts.Progress?.Report(new EntkProgress("layer rules", ++done, units));
                        }
                    Phase("capture", clock);
                    // Factored tensors: chunk pairs outside, tensors inside, so that a weight and its bias (adjacent in the layout)
                    // share the cotangent Gram matrix. Tensors contracted through per-sample gradients: one tensor at a time, its
                    // gradients formed for every chunk, contracted, and freed before the next (the memory plan assumes this).
                    var viaGradients = pass.Where(t => PrefersGradients(f1, f2, t, full)).ToArray();
                    var factored = pass.Except(viaGradients).ToArray();
                    foreach (int t in factored) detail[t] = Describe(f1, t);
                    void Contract(int[] tensors, int i, int j)
                    {
                        foreach (int t in tensors)
                        {
                            var a = f1[i][t];
                            var b = f2[j][t];
                            if (a is null || b is null) continue;
                            using var inner = torch.NewDisposeScope();
                            var blk = full ? a.Full(b).to(ScalarType.Float64) : a.Traced(b).to(ScalarType.Float64);
                            Place(total, blk, reduction, ch1[i], ch2[j], n1, n2, c, mirror: x2 is null && i != j);
                            int gi = tensorGroup[t];
                            if (gi >= 0) Place(groups[gi], blk, reduction, ch1[i], ch2[j], n1, n2, c, mirror: x2 is null && i != j);
                        }
                    }
                    for (int i = 0; i < ch1.Count; i++)
                        for (int j = x2 is null ? i : 0; j < ch2.Count; j++)
                        {
                            using var scope = torch.NewDisposeScope();
                            try
                            {
                                Contract(factored, i, j);
                            }
                            finally
                            {
                                OuterProductFactors.ClearCache();
                            }
                        }
                    Phase("contract", clock);
                    foreach (int t in viaGradients)
                    {
                        detail[t] = "per-sample gradients";
                        Materialise(f1, t, retired);
                        if (!ReferenceEquals(f1, f2)) Materialise(f2, t, retired);
                        Phase("materialise", clock);
                        for (int i = 0; i < ch1.Count; i++)
                            for (int j = x2 is null ? i : 0; j < ch2.Count; j++)
                            {
                                using var scope = torch.NewDisposeScope();
                                Contract(new[] { t }, i, j);
                            }
                        ReleaseTensor(f1, t);
                        if (!ReferenceEquals(f1, f2)) ReleaseTensor(f2, t);
                        Phase("contract", clock);
                    }
                    Phase("contract", clock);
                    done += pass.Length;
                    opts.Progress?.Report(new EntkProgress("layer rules", done, units));
                }
                finally
                {
                    Release(f1);
                    if (x2 is not null) Release(f2);
                    foreach (var g in retired) g.Release();
                }
            }
            double div = reduction.Kind switch { KernelReductionKind.TraceMean => c, KernelReductionKind.AllPairsMean => (double)c * c, _ => 1 };
            if (div != 1)
            {
                total.div_(div);
                foreach (var g in groups) g.div_(div);
            }
            opts.Progress?.Report(new EntkProgress("layer rules", units, units));
            return new RuleKernelResult(total, groups, engine.Routes(t => detail[t] ?? "not used"));
        }

        /// <summary>Whether a tensor is cheapest to contract through formed per-sample gradients (over all chunk pairs).</summary>
        private static bool PrefersGradients(GradientFactors?[][] f1, GradientFactors?[][] f2, int t, bool full)
        {
            var first = f1.Select(f => f[t]).FirstOrDefault(f => f is not null);
            if (first is null || first is PerSampleGradientFactors) return false;       // nothing to do, or already formed
            if (first is OuterProductFactors { IsBias: true }) return false;             // shares its weight's Gram, or forms Σ_t δ_t on the fly
            if (first is SumOfFactors) return true;
            long b2 = f2.Select(f => f[t]).FirstOrDefault(f => f is not null)?.Samples ?? 1;
            double chosen = full ? first.FullFlops(b2) : first.TracedFlops(b2);
            double psgOnly = 2.0 * first.Samples * b2 * first.Outputs * (full ? first.Outputs : 1) * first.Count;
            return !(chosen < psgOnly) || first is ElementwiseFactors;
        }

        private static string Describe(GradientFactors?[][] f, int t)
        {
            var first = f.Select(x => x[t]).FirstOrDefault(x => x is not null);
            return first switch
            {
                null => "module not called: zero contribution",
                PerSampleGradientFactors => "per-sample gradients",
                OuterProductFactors { IsBias: true } => "cotangent Gram (shared with the weight) or Σ_t δ_t",
                _ => "pairwise factors",
            };
        }

        /// <summary>
        /// Replaces a tensor's factors by their per-sample gradients in every chunk. The factors go to <paramref name="retired"/>
        /// (a weight shares its inputs and cotangents with its bias, so they are freed with the pass, not here).
        /// </summary>
        private static void Materialise(GradientFactors?[][] f, int t, List<GradientFactors> retired)
        {
            for (int i = 0; i < f.Length; i++)
            {
                if (f[i][t] is not GradientFactors g || g is PerSampleGradientFactors) continue;
                PerSampleGradientFactors p;
                using (var scope = torch.NewDisposeScope())
                {
                    p = new PerSampleGradientFactors(g.PerSampleGradients().contiguous());
                    p.Detach();
                }
                retired.Add(g);
                f[i][t] = p;
            }
        }

        private static void ReleaseTensor(GradientFactors?[][] f, int t)
        {
            for (int i = 0; i < f.Length; i++)
            {
                if (f[i][t] is PerSampleGradientFactors p) p.Release();
                f[i][t] = null;
            }
        }

        private static void Release(GradientFactors?[][] fs)
        {
            var seen = new HashSet<GradientFactors>(ReferenceEqualityComparer.Instance);
            foreach (var row in fs)
                if (row is not null)
                    foreach (var f in row)
                        if (f is not null && seen.Add(f)) f.Release();
        }

        /// <summary>
        /// The memory of <see cref="Operator"/>: every sample's factors, the capture's transient memory for one chunk (its
        /// autograd graph and cotangents, freed before the products start but part of the heap's high-water mark), plus the
        /// product blocks of <paramref name="columns"/> columns per call.
        /// </summary>
        public static MemoryEstimate OperatorEstimate(RuleEngine engine, NtkModel model, KernelReduction reduction, Tensor x, double[] s, NtkOptions opts, int columns = OperatorColumns)
        {
            using var scope = torch.NewDisposeScope();
            var w = OutputWeights(reduction, s);
            var profile = engine.Profile(x.narrow(0, 0, 1), w);
            long n = x.shape[0];
            long perSample = profile.Stored.Aggregate(0L, (a, b) => MemoryBudget.Sum(a, b));
            long stored = MemoryBudget.Product(perSample, n);
            long capture = profile.CaptureBytes(ChunkSize(perSample, n, opts));
            long maxCount = model.Layout.Tensors.Max(t => (long)t.Count);
            // A product holds four (N, C, k) blocks and, for the largest tensor, its running sum, one chunk's partial and the
            // product operand (P_t·k each).
            long work = MemoryBudget.Sum(MemoryBudget.Product(8, n, model.OutputDimension, columns, 4), MemoryBudget.Product(8, maxCount, columns, 3));
            long total = MemoryBudget.Sum(stored, capture, work);
            return new MemoryEstimate(total, Check.Inv($"stored layer factors {stored} B + capture {capture} B + product blocks {work} B = {MemoryBudgetExceededException.FormatBytes(total)}"));
        }

        /// <summary>Columns per call of the layer-rule operator's product (the most; a Lanczos run with block size b uses b).</summary>
        internal const int OperatorColumns = 64;

        /// <summary>
        /// The flattened self-kernel as a matrix-free operator K·v = Σ_t J_t (J_tᵀ v) from the stored layer factors of every
        /// sample (rule tensors) and stored per-sample gradients (generic tensors); K is never formed.
        /// </summary>
        public static KernelOperator Operator(RuleEngine engine, NtkModel model, KernelReduction reduction, Tensor xt, double[] s, NtkOptions opts, string description, int columns = OperatorColumns)
        {
            int c = model.OutputDimension;
            long n = xt.shape[0];
            long dim = n * c;
            bool classMajor = reduction.Kind == KernelReductionKind.FlattenClassMajor;
            var w = OutputWeights(reduction, s).DetachFromDisposeScope();
            engine.CheckOnData(xt, w);
            var est = OperatorEstimate(engine, model, reduction, xt, s, opts, columns);
            MemoryBudget.Require(Check.Inv($"the matrix-free {reduction} operator by layer rules ({est.Formula})"), est.Bytes, opts.Budget,
                "Alternatives: fewer inputs, NtkMethod.NtkVectorProducts (recomputes instead of storing), or a larger NtkOptions.MemoryBudgetBytes.");
            var perSample = engine.FactorBytesPerSample(xt, w);
            int chunk = ChunkSize(perSample.Sum(), n, opts);
            var chunks = Chunks(n, chunk);
            var all = Enumerable.Range(0, model.Layout.Tensors.Count).ToArray();
            var computeType = opts.Precision == Precision.Float32 ? ScalarType.Float32 : ScalarType.Float64;
            var f = new GradientFactors?[chunks.Count][];
            double trace = 0;
            try
            {
                opts.Progress?.Report(new EntkProgress("layer rules", 0, chunks.Count));
                for (int i = 0; i < chunks.Count; i++)
                {
                    using var scope = torch.NewDisposeScope();
                    f[i] = engine.CaptureChunk(xt.narrow(0, chunks[i].Start, chunks[i].Count), w, all, opts.Precision == Precision.Float32 ? ScalarType.Float32 : null);
                    foreach (var g in f[i]) if (g is not null) trace += g.SquaredNorm();
                    opts.Progress?.Report(new EntkProgress("layer rules", i + 1, chunks.Count));
                }
            }
            catch
            {
                Release(f);
                w.Dispose();
                throw;
            }
            Tensor Apply(Tensor v)
            {
                long k = v.shape[1];
                var blocks = (classMajor ? v.reshape(c, n, k).permute(1, 0, 2) : v.reshape(n, c, k)).to(computeType).contiguous();   // (N, C, k)
                var y = torch.zeros(new long[] { n, c, k }, computeType);
                foreach (int t in all)
                {
                    // Temporaries are freed per chunk (a dispose scope per chunk), so a product holds one chunk's at a time.
                    using var perTensor = torch.NewDisposeScope();
                    GradientFactors? first = null;
                    bool uniform = true;
                    for (int i = 0; i < chunks.Count; i++)
                        if (f[i][t] is GradientFactors g)
                        {
                            first ??= g;
                            uniform &= g.GetType() == first.GetType();
                        }
                    if (first is null) continue;
                    Tensor? m = null;
                    for (int i = 0; i < chunks.Count; i++)
                    {
                        if (f[i][t] is not GradientFactors g) continue;
                        using var perChunk = torch.NewDisposeScope();
                        var u = blocks.narrow(0, chunks[i].Start, chunks[i].Count);
                        var part = uniform ? g.TransposeProductPartial(u) : g.TransposeProduct(u);
                        if (m is null) m = part.MoveToOuterDisposeScope();
                        else m.add_(part);
                    }
                    var operand = uniform ? first.ProductOperand(m!) : m!;
                    for (int i = 0; i < chunks.Count; i++)
                    {
                        if (f[i][t] is not GradientFactors g) continue;
                        using var perChunk = torch.NewDisposeScope();
                        y.narrow(0, chunks[i].Start, chunks[i].Count).add_(uniform ? g.ProductWithOperand(operand) : g.Product(operand));
                    }
                }
                var r = classMajor ? y.permute(1, 0, 2).reshape(dim, k) : y.reshape(dim, k);
                return r.to(ScalarType.Float64);
            }
            return new KernelOperator((int)dim, description, Apply, trace, NtkMethod.Structured, engine.Routes(_ => "factored products"), () =>
            {
                Release(f);
                w.Dispose();
            }, columns);
        }

        /// <summary>Per-tensor Jacobians (N, V, count_t) in float64 from the rules (formed per-sample gradients), for the parameter side.</summary>
        public static Tensor[] Jacobians(RuleEngine engine, NtkModel model, Tensor x, Tensor w, NtkOptions opts, out TensorRoute[] routes)
        {
            engine.CheckOnData(x, w);
            long n = x.shape[0];
            var all = Enumerable.Range(0, model.Layout.Tensors.Count).ToArray();
            var perSample = engine.FactorBytesPerSample(x, w);
            var chunks = Chunks(n, ChunkSize(perSample.Sum(), n, opts));
            var result = all.Select(t => torch.zeros(new long[] { n, w.shape[0], model.Layout.Tensors[t].Count }, ScalarType.Float64)).ToArray();
            opts.Progress?.Report(new EntkProgress("jacobian", 0, n));
            foreach (var ch in chunks)
            {
                using var scope = torch.NewDisposeScope();
                var f = engine.CaptureChunk(x.narrow(0, ch.Start, ch.Count), w, all, null);
                try
                {
                    foreach (int t in all)
                        if (f[t] is GradientFactors g) result[t].narrow(0, ch.Start, ch.Count).copy_(g.PerSampleGradients().to(ScalarType.Float64));
                }
                finally
                {
                    foreach (var g in f) g?.Release();
                }
                opts.Progress?.Report(new EntkProgress("jacobian", ch.Start + ch.Count, n));
            }
            routes = engine.Routes(_ => "per-sample gradients");
            return result;
        }

        /// <summary>Adds a block (B1×B2 reduced, or (B1, V, B2, V) full) at chunk (i, j) and, when mirroring, its transpose at (j, i).</summary>
        private static void Place(Tensor target, Tensor blk, KernelReduction r, Chunk a, Chunk b, long n1, long n2, int c, bool mirror)
        {
            switch (r.Kind)
            {
                case KernelReductionKind.FlattenSampleMajor:
                {
                    var view = target.view(n1, c, n2, c);
                    view.narrow(0, a.Start, a.Count).narrow(2, b.Start, b.Count).add_(blk);
                    if (mirror) view.narrow(0, b.Start, b.Count).narrow(2, a.Start, a.Count).add_(blk.permute(2, 3, 0, 1));
                    break;
                }
                case KernelReductionKind.FlattenClassMajor:
                {
                    var view = target.view(c, n1, c, n2);
                    view.narrow(1, a.Start, a.Count).narrow(3, b.Start, b.Count).add_(blk.permute(1, 0, 3, 2));
                    if (mirror) view.narrow(1, b.Start, b.Count).narrow(3, a.Start, a.Count).add_(blk.permute(3, 2, 1, 0));
                    break;
                }
                case KernelReductionKind.Block:
                {
                    var m = blk.select(3, 1).select(1, 0);                                  // rows of c against columns of d
                    target.narrow(0, a.Start, a.Count).narrow(1, b.Start, b.Count).add_(m);
                    if (mirror) target.narrow(0, b.Start, b.Count).narrow(1, a.Start, a.Count).add_(blk.select(3, 0).select(1, 1).t());
                    break;
                }
                default:
                    target.narrow(0, a.Start, a.Count).narrow(1, b.Start, b.Count).add_(blk);
                    if (mirror) target.narrow(0, b.Start, b.Count).narrow(1, a.Start, a.Count).add_(blk.t());
                    break;
            }
        }
    }
}
