using System;
using Entk.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Kernels.Rules
{
    /// <summary>
    /// The per-sample gradients of one parameter tensor, for a batch of B samples and V virtual outputs
    /// y_v = Σ_c w[v, c]·f_c, in a factored form that a layer rule builds from what the forward and backward passes
    /// already have: the layer's input activations and the cotangent (gradient) arriving at its output. The gradient
    /// g[n, v] (a vector of the tensor's element count, row-major over the tensor's shape) is never formed unless the
    /// engine decides that forming it is the cheapest route. Four forms exist:
    /// <see cref="OuterProductFactors"/> (Linear, Conv: g = Σ_t δ_t ⊗ a_t), <see cref="ElementwiseFactors"/>
    /// (LayerNorm/RMSNorm gains: g = Σ_t δ_t ⊙ x̂_t), <see cref="IndexedRowFactors"/> (Embedding: row r of g =
    /// Σ_t [i_t = r] δ_t) and <see cref="PerSampleGradientFactors"/> (g given directly).
    /// All tensors are float64 or float32 (one dtype per factor), contiguous, and belong to the engine once returned.
    /// </summary>
    public abstract class GradientFactors
    {
        private protected GradientFactors(long samples, long outputs, long count)
        {
            Samples = samples;
            Outputs = outputs;
            Count = count;
        }

        /// <summary>B, the number of samples.</summary>
        public long Samples { get; }

        /// <summary>V, the number of virtual outputs.</summary>
        public long Outputs { get; }

        /// <summary>The parameter tensor's element count P_t.</summary>
        public long Count { get; }

        /// <summary>The per-sample gradients g, shape (B, V, P_t).</summary>
        internal abstract Tensor PerSampleGradients();

        /// <summary>Σ_n Σ_v w[n, v]·g[n, v] for weights w of shape (B, V): shape (P_t).</summary>
        internal virtual Tensor WeightedSum(Tensor w) =>
            w.reshape(1, Samples * Outputs).mm(PerSampleGradients().reshape(Samples * Outputs, Count)).reshape(Count);

        /// <summary>Σ_v ⟨g[n, v], g'[m, v]⟩: the traced contraction with another batch, shape (B, B').</summary>
        internal virtual Tensor Traced(GradientFactors other) =>
            PerSampleGradients().reshape(Samples, Outputs * Count).mm(other.PerSampleGradients().reshape(other.Samples, Outputs * Count).t());

        /// <summary>⟨g[n, v], g'[m, w]⟩: the full contraction, shape (B, V, B', V).</summary>
        internal virtual Tensor Full(GradientFactors other) =>
            PerSampleGradients().reshape(Samples * Outputs, Count).mm(other.PerSampleGradients().reshape(other.Samples * other.Outputs, Count).t())
                .reshape(Samples, Outputs, other.Samples, other.Outputs);

        /// <summary>Σ_n Σ_v ‖g[n, v]‖² (the trace contribution).</summary>
        internal virtual double SquaredNorm() => PerSampleGradients().pow(2).sum().to(ScalarType.Float64).item<double>();

        /// <summary>Jᵀu: Σ_n Σ_v u[n, v, k]·g[n, v] for u of shape (B, V, k): shape (P_t, k).</summary>
        internal virtual Tensor TransposeProduct(Tensor u) =>
            PerSampleGradients().reshape(Samples * Outputs, Count).t().mm(u.reshape(Samples * Outputs, u.shape[2]));

        /// <summary>J·M: (J M)[n, v, k] = ⟨g[n, v], M[:, k]⟩ for M of shape (P_t, k): shape (B, V, k).</summary>
        internal virtual Tensor Product(Tensor m) =>
            PerSampleGradients().reshape(Samples * Outputs, Count).mm(m).reshape(Samples, Outputs, m.shape[1]);

        /// <summary>
        /// Jᵀu in this factor type's own accumulation layout: partials of chunks of one tensor (same type and shapes) add up,
        /// and <see cref="ProductOperand"/> turns the sum into the operand of <see cref="ProductWithOperand"/> once per
        /// tensor instead of once per chunk (default: the (P_t, k) layout of <see cref="TransposeProduct"/>).
        /// </summary>
        internal virtual Tensor TransposeProductPartial(Tensor u) => TransposeProduct(u);

        /// <summary>The operand of <see cref="ProductWithOperand"/> from a sum of <see cref="TransposeProductPartial"/>.</summary>
        internal virtual Tensor ProductOperand(Tensor partialSum) => partialSum;

        /// <summary>J·M from an operand made by <see cref="ProductOperand"/>: shape (B, V, k).</summary>
        internal virtual Tensor ProductWithOperand(Tensor operand) => Product(operand);

        /// <summary>Floating-point operations of <see cref="PerSampleGradients"/> (0 when g is stored).</summary>
        internal virtual double FormFlops => 0;

        /// <summary>Floating-point operations of <see cref="Traced"/> against a batch of B' samples.</summary>
        internal virtual double TracedFlops(long otherSamples) => FormFlops * 2 + 2.0 * Samples * otherSamples * Outputs * Count;

        /// <summary>Floating-point operations of <see cref="Full"/> against a batch of B' samples.</summary>
        internal virtual double FullFlops(long otherSamples) => FormFlops * 2 + 2.0 * Samples * otherSamples * Outputs * Outputs * Count;

        /// <summary>Bytes held by the factors.</summary>
        internal abstract long StoredBytes { get; }

        /// <summary>Peak transient bytes of <see cref="Traced"/>/<see cref="Full"/> against a batch of B' samples (besides the result).</summary>
        internal virtual long ContractionBytes(long otherSamples) =>
            MemoryBudget.Product(8, MemoryBudget.Sum(Samples, otherSamples), Outputs, Count);

        /// <summary>
        /// Peak transient bytes of contracting this tensor over chunk pairs, for V virtual outputs: the per-sample-gradient
        /// route stores g for all samples (8·N·V·P_t) plus one block; factored routes override this.
        /// </summary>
        /// <param name="samples">All samples N (both sets).</param>
        /// <param name="chunk">Samples per chunk.</param>
        /// <param name="outputs">V.</param>
        /// <param name="full">Full (flattened or block) contraction rather than traced.</param>
        internal virtual long ContractionWorkBytes(long samples, long chunk, long outputs, bool full) =>
            MemoryBudget.Sum(MemoryBudget.Product(8, samples, outputs, Count), MemoryBudget.Product(8, chunk, chunk, full ? outputs * outputs : 1, 2));

        /// <summary>Bytes of the per-sample gradients when formed.</summary>
        internal long GradientBytes => MemoryBudget.Product(8, Samples, Outputs, Count);

        /// <summary>The same factors with every floating-point tensor converted to <paramref name="type"/> (this when it already is).</summary>
        internal abstract GradientFactors To(ScalarType type);

        /// <summary>Moves the factor's tensors out of the current dispose scope (they are kept across chunks).</summary>
        internal abstract void Detach();

        /// <summary>Disposes the factor's tensors.</summary>
        internal abstract void Release();

        /// <summary>
        /// The tensor to keep across chunks, out of the dispose scope, in storage of its own: a strided or offset view (e.g.
        /// the last position of a sequence, h[:, −1, :]) would keep its whole base tensor alive, which the memory plan does
        /// not count.
        /// </summary>
        private protected static Tensor Keep(Tensor t)
        {
            var own = t.is_contiguous() && t.storage_offset() == 0 ? t : (t.is_contiguous() ? t.clone() : t.contiguous());
            return own.DetachFromDisposeScope();
        }

        private protected static void CheckDims(Tensor t, string name, int dims)
        {
            if (t is null) throw new ArgumentNullException(name);
            if (t.dim() != dims) throw new ShapeMismatchException(name, Check.Inv($"a {dims}-D tensor"), Check.Shape(t.shape));
            if (t.dtype != ScalarType.Float64 && t.dtype != ScalarType.Float32)
                throw new EntkArgumentException(name, "a float64 or float32 tensor", t.dtype.ToString());
        }
    }

    /// <summary>
    /// g[n, v] = α · Σ_t δ[n, v, t] ⊗ a[n, t], flattened row-major as (out, in) — the gradient of a weight used as
    /// z_t = W a_t at T positions (Linear on a sequence; Conv as a Linear on unfolded patches, T = output positions) —
    /// or, with no inputs, g[n, v] = α · Σ_t δ[n, v, t] (a bias added at every position).
    /// </summary>
    public sealed class OuterProductFactors : GradientFactors
    {
        private Tensor? _a;
        private Tensor _d;
        private readonly double _alpha;
        private readonly object _key;

        /// <summary>A one-entry cache of the cotangent Gram matrix, so that a weight and its bias (which share δ) contract it once.</summary>
        [ThreadStatic]
        private static (object A, object B, bool Full, Tensor Gram)? _gramCache;

        /// <summary>Forgets (and frees) the cached cotangent Gram matrix.</summary>
        internal static void ClearCache()
        {
            _gramCache?.Gram.Dispose();
            _gramCache = null;
        }

        /// <summary>Whether the cotangent Gram matrix of this pair is cached (its weight was contracted pairwise just before).</summary>
        private bool Cached(OuterProductFactors o, bool full) =>
            _gramCache is { } c && ReferenceEquals(c.A, _key) && ReferenceEquals(c.B, o._key) && c.Full == full;

        /// <summary>True for a bias (no inputs: the gradient is Σ_t δ_t).</summary>
        internal bool IsBias => _a is null;

        /// <summary>The cotangent Gram matrix, cached (owned by the cache, never by a dispose scope; callers must not keep or mutate it).</summary>
        private Tensor CotangentGram(OuterProductFactors o, bool full, Func<Tensor> compute)
        {
            if (_gramCache is { } c && ReferenceEquals(c.A, _key) && ReferenceEquals(c.B, o._key) && c.Full == full) return c.Gram;
            ClearCache();
            var g = compute().DetachFromDisposeScope();
            _gramCache = (_key, o._key, full, g);
            return g;
        }

        /// <summary>Creates the factors.</summary>
        /// <param name="inputs">Layer inputs a, shape (B, T, in); null for a bias (a ≡ 1, count = out).</param>
        /// <param name="cotangents">Cotangents δ at the layer output, shape (B, V, T, out).</param>
        /// <param name="alpha">A constant factor α of the gradient (default 1).</param>
        /// <exception cref="ShapeMismatchException">Shapes that do not agree.</exception>
        public OuterProductFactors(Tensor? inputs, Tensor cotangents, double alpha = 1.0)
            : base(CheckShapes(inputs, cotangents).Item1, cotangents.shape[1], CheckShapes(inputs, cotangents).Item2)
        {
            _a = inputs?.contiguous();
            _d = cotangents.contiguous();
            _key = cotangents;
            _alpha = Check.Finite(alpha, nameof(alpha));
            if (_a is not null && _a.dtype != _d.dtype) _a = _a.to(_d.dtype);
        }

        private static (long, long) CheckShapes(Tensor? a, Tensor d)
        {
            CheckDims(d, "cotangents", 4);
            if (a is null) return (d.shape[0], d.shape[3]);
            CheckDims(a, "inputs", 3);
            if (a.shape[0] != d.shape[0] || a.shape[1] != d.shape[2])
                throw new ShapeMismatchException("inputs", Check.Inv($"[{d.shape[0]}, {d.shape[2]}, *] (B and T of the cotangents)"), Check.Shape(a.shape));
            return (d.shape[0], d.shape[3] * a.shape[2]);
        }

        private long T => _d.shape[2];

        private long Out => _d.shape[3];

        private long In => _a?.shape[2] ?? 1;

        /// <inheritdoc />
        internal override Tensor PerSampleGradients()
        {
            long b = Samples, v = Outputs;
            Tensor g;
            if (_a is null) g = _d.sum(2);                                                  // (B, V, out)
            else g = _d.permute(0, 1, 3, 2).reshape(b, v * Out, T).bmm(_a).reshape(b, v, Out * In);
            return _alpha == 1 ? g : g * _alpha;
        }

        /// <inheritdoc />
        internal override Tensor WeightedSum(Tensor w)
        {
            var e = (_d * w.to(_d.dtype).reshape(Samples, Outputs, 1, 1)).sum(1);           // (B, T, out)
            Tensor g = _a is null ? e.sum(new long[] { 0, 1 }) : e.reshape(Samples * T, Out).t().mm(_a.reshape(Samples * T, In)).reshape(Count);
            return _alpha == 1 ? g : g * _alpha;
        }

        private bool PairwiseCheaper(long otherSamples, bool full)
        {
            double pair = full ? PairFullFlops(otherSamples) : PairTracedFlops(otherSamples);
            double psg = full ? base.FullFlops(otherSamples) : base.TracedFlops(otherSamples);
            return pair <= psg;
        }

        private double PairTracedFlops(long b2) => 2.0 * Samples * b2 * T * T * (In + Outputs * Out) + 2.0 * Samples * b2 * T * T;

        private double PairFullFlops(long b2) => 2.0 * Samples * b2 * T * T * (In + Outputs * Outputs * Out) + 3.0 * Samples * b2 * T * T * Outputs * Outputs;

        /// <inheritdoc />
        internal override double FormFlops => _a is null ? (double)Samples * Outputs * T * Out : 2.0 * Samples * Outputs * T * Out * In;

        /// <inheritdoc />
        internal override long ContractionWorkBytes(long samples, long chunk, long outputs, bool full)
        {
            // The route Traced/Full takes for two chunks of this size (the cost model does not depend on V's value here but on its role).
            double pair = full ? 2.0 * chunk * chunk * T * T * (In + outputs * outputs * Out) : 2.0 * chunk * chunk * T * T * (In + outputs * Out);
            double psg = 2.0 * FormFlopsFor(chunk, outputs) + 2.0 * chunk * chunk * outputs * (full ? outputs : 1) * Count;
            long gram = MemoryBudget.Product(8, chunk, chunk, T, T, full ? outputs * outputs : 1);
            long copies = T == 1 ? 2 : 3;      // the cached cotangent Gram, its product with the input Gram, and (T > 1) the reduced block
            // A bias takes the same choice as Traced/Full make for it: pairwise (or its weight's cached Gram, counted with the
            // weight) when that is cheaper, per-sample gradients otherwise — over many positions (a convolution's bias) the
            // pairwise (B·T)² Gram would be enormous while its per-sample gradients are tiny.
            return pair <= psg ? MemoryBudget.Product(gram, copies) : base.ContractionWorkBytes(samples, chunk, outputs, full);
        }

        private double FormFlopsFor(long chunk, long outputs) => _a is null ? (double)chunk * outputs * T * Out : 2.0 * chunk * outputs * T * Out * In;

        /// <inheritdoc />
        internal override double TracedFlops(long otherSamples) => Math.Min(PairTracedFlops(otherSamples), base.TracedFlops(otherSamples));

        /// <inheritdoc />
        internal override double FullFlops(long otherSamples) => Math.Min(PairFullFlops(otherSamples), base.FullFlops(otherSamples));

        /// <inheritdoc />
        internal override long ContractionBytes(long otherSamples)
        {
            long pair = MemoryBudget.Product(8, Samples, otherSamples, T, T, Outputs, Outputs, 3);
            return Math.Min(pair, base.ContractionBytes(otherSamples));
        }

        /// <inheritdoc />
        internal override Tensor Traced(GradientFactors other)
        {
            if (other is not OuterProductFactors o || (o._a is null) != (_a is null) || o.Out != Out || o.In != In || !(Cached(o, false) || PairwiseCheaper(other.Samples, false)))
                return base.Traced(other);
            long b1 = Samples, b2 = o.Samples, t1 = T, t2 = o.T, v = Outputs;
            // Σ_v δ[n,v,t]·δ'[m,v,t'] as one GEMM over the joint (v, out) index, then ⊙ (a[n,t]·a'[m,t']) and Σ_t Σ_t'.
            var gd = CotangentGram(o, false, () => _d.permute(0, 2, 1, 3).reshape(b1 * t1, v * Out).mm(o._d.permute(0, 2, 1, 3).reshape(b2 * t2, v * Out).t()));
            if (_a is not null) gd = gd * _a.reshape(b1 * t1, In).mm(o._a!.reshape(b2 * t2, In).t());
            var k = t1 == 1 && t2 == 1 ? (_a is null ? gd.alias() : gd) : gd.reshape(b1, t1, b2, t2).sum(new long[] { 1, 3 });
            double s = _alpha * o._alpha;
            return s == 1 ? k : k * s;
        }

        /// <inheritdoc />
        internal override Tensor Full(GradientFactors other)
        {
            if (other is not OuterProductFactors o || (o._a is null) != (_a is null) || o.Out != Out || o.In != In || !(Cached(o, true) || PairwiseCheaper(other.Samples, true)))
                return base.Full(other);
            long b1 = Samples, b2 = o.Samples, t1 = T, t2 = o.T, v1 = Outputs, v2 = o.Outputs;
            var gd = CotangentGram(o, true, () => _d.reshape(b1 * v1 * t1, Out).mm(o._d.reshape(b2 * v2 * t2, Out).t()).reshape(b1, v1, t1, b2, v2, t2));
            if (_a is not null)
            {
                var ga = _a.reshape(b1 * t1, In).mm(o._a!.reshape(b2 * t2, In).t()).reshape(b1, 1, t1, b2, 1, t2);
                gd = gd * ga;
            }
            // One position on each side: the block is a view (no copy of the (B1·V) × (B2·V) block).
            var k = t1 == 1 && t2 == 1 ? gd.reshape(b1, v1, b2, v2) : gd.sum(new long[] { 2, 5 });
            double s = _alpha * o._alpha;
            return s == 1 ? k : k * s;
        }

        /// <inheritdoc />
        internal override double SquaredNorm()
        {
            long b = Samples;
            var dd = _d.permute(0, 2, 1, 3).reshape(b, T, Outputs * Out);
            var gd = dd.bmm(dd.transpose(1, 2));                                             // (B, T, T)
            if (_a is not null) gd = gd * _a.bmm(_a.transpose(1, 2));
            return _alpha * _alpha * gd.sum().to(ScalarType.Float64).item<double>();
        }

        /// <inheritdoc />
        internal override Tensor TransposeProduct(Tensor u)
        {
            var m = TransposeProductPartial(u);                                              // bias (out, k); weight ((out, k), in)
            if (_a is null) return m;
            long k = u.shape[2];
            return m.reshape(Out, k, In).permute(0, 2, 1).reshape(Out * In, k);
        }

        /// <inheritdoc />
        internal override Tensor TransposeProductPartial(Tensor u)
        {
            long b = Samples, k = u.shape[2];
            // z[n, t, out, k] = Σ_v δ[n, v, t, out] u[n, v, k]
            var z = _d.permute(0, 2, 3, 1).reshape(b, T * Out, Outputs).bmm(u.to(_d.dtype)).reshape(b, T, Out, k);
            // Bias: (out, k). Weight: (out·k, in), laid out as ((out, k), in); ProductOperand permutes once per tensor.
            var m = _a is null ? z.sum(new long[] { 0, 1 }) : z.permute(2, 3, 0, 1).reshape(Out * k, b * T).mm(_a.reshape(b * T, In));
            return _alpha == 1 ? m : m * _alpha;
        }

        /// <inheritdoc />
        internal override Tensor ProductOperand(Tensor partialSum)
        {
            if (_a is null) return partialSum;                                               // (out, k)
            long k = partialSum.shape[0] / Out;
            return partialSum.reshape(Out, k, In).permute(2, 0, 1).reshape(In, Out * k);      // (in, (out, k))
        }

        /// <inheritdoc />
        internal override Tensor ProductWithOperand(Tensor operand)
        {
            long b = Samples;
            var op = operand.to(_d.dtype);
            long k = _a is null ? op.shape[1] : op.shape[1] / Out;
            var y = _a is null ? op.reshape(1, 1, Out, k).expand(b, T, Out, k) : _a.reshape(b * T, In).mm(op).reshape(b, T, Out, k);
            var r = _d.reshape(b, Outputs, T * Out).bmm(y.reshape(b, T * Out, k));
            return _alpha == 1 ? r : r * _alpha;
        }

        /// <inheritdoc />
        internal override Tensor Product(Tensor m)
        {
            if (_a is null) return ProductWithOperand(m);                                    // (out, k)
            long k = m.shape[1];
            return ProductWithOperand(m.reshape(Out, In, k).permute(1, 0, 2).reshape(In, Out * k));
        }

        /// <inheritdoc />
        internal override long StoredBytes => MemoryBudget.Product(_d.element_size(), MemoryBudget.Sum(_d.numel(), _a?.numel() ?? 0));

        /// <inheritdoc />
        internal override GradientFactors To(ScalarType type) => _d.dtype == type ? this : new OuterProductFactors(_a?.to(type), _d.to(type), _alpha);

        /// <inheritdoc />
        internal override void Detach()
        {
            _d = Keep(_d);
            _a = _a is null ? null : Keep(_a);
        }

        /// <inheritdoc />
        internal override void Release()
        {
            _d.Dispose();
            _a?.Dispose();
        }
    }

    /// <summary>
    /// g[n, v] = Σ_t δ[n, v, t] ⊙ x[n, t] (elementwise), the gradient of a gain γ used as y_t = x_t ⊙ γ + … at T
    /// positions (LayerNorm/RMSNorm affine weights, with x the normalised input). Count = the feature size d.
    /// </summary>
    public sealed class ElementwiseFactors : GradientFactors
    {
        private Tensor _x;
        private Tensor _d;

        /// <summary>Creates the factors.</summary>
        /// <param name="features">x, shape (B, T, d).</param>
        /// <param name="cotangents">δ, shape (B, V, T, d).</param>
        public ElementwiseFactors(Tensor features, Tensor cotangents)
            : base(cotangents.shape[0], cotangents.shape[1], cotangents.shape[3])
        {
            CheckDims(features, nameof(features), 3);
            CheckDims(cotangents, nameof(cotangents), 4);
            if (features.shape[0] != cotangents.shape[0] || features.shape[1] != cotangents.shape[2] || features.shape[2] != cotangents.shape[3])
                throw new ShapeMismatchException(nameof(features), Check.Inv($"[{cotangents.shape[0]}, {cotangents.shape[2]}, {cotangents.shape[3]}]"), Check.Shape(features.shape));
            _x = features.to(cotangents.dtype).contiguous();
            _d = cotangents.contiguous();
        }

        /// <inheritdoc />
        internal override Tensor PerSampleGradients() => (_d * _x.unsqueeze(1)).sum(2);

        /// <inheritdoc />
        internal override double FormFlops => 2.0 * Samples * Outputs * _d.shape[2] * Count;

        /// <inheritdoc />
        internal override long StoredBytes => MemoryBudget.Product(_d.element_size(), MemoryBudget.Sum(_d.numel(), _x.numel()));

        /// <inheritdoc />
        internal override GradientFactors To(ScalarType type) => _d.dtype == type ? this : new ElementwiseFactors(_x.to(type), _d.to(type));

        /// <inheritdoc />
        internal override void Detach()
        {
            _d = Keep(_d);
            _x = Keep(_x);
        }

        /// <inheritdoc />
        internal override void Release()
        {
            _d.Dispose();
            _x.Dispose();
        }
    }

    /// <summary>
    /// Row r of g[n, v] (a (rows, d) tensor, row-major) is Σ_t [i[n, t] = r]·δ[n, v, t]: the gradient of an embedding
    /// table looked up at indices i. Indices outside [0, rows) are rejected by the engine before use.
    /// </summary>
    public sealed class IndexedRowFactors : GradientFactors
    {
        private Tensor _i;
        private Tensor _d;
        private readonly long _rows;

        /// <summary>Creates the factors.</summary>
        /// <param name="indices">i, shape (B, T), int64, values in [0, rows).</param>
        /// <param name="cotangents">δ, shape (B, V, T, d).</param>
        /// <param name="rows">Number of rows of the table.</param>
        public IndexedRowFactors(Tensor indices, Tensor cotangents, long rows)
            : base(cotangents.shape[0], cotangents.shape[1], rows * cotangents.shape[3])
        {
            CheckDims(cotangents, nameof(cotangents), 4);
            if (indices is null) throw new ArgumentNullException(nameof(indices));
            if (indices.dim() != 2 || indices.shape[0] != cotangents.shape[0] || indices.shape[1] != cotangents.shape[2])
                throw new ShapeMismatchException(nameof(indices), Check.Inv($"[{cotangents.shape[0]}, {cotangents.shape[2]}]"), Check.Shape(indices.shape));
            if (rows <= 0) throw new EntkArgumentException(nameof(rows), "a positive row count", rows.ToString(System.Globalization.CultureInfo.InvariantCulture));
            _i = indices.to(ScalarType.Int64).contiguous();
            _d = cotangents.contiguous();
            _rows = rows;
        }

        private long T => _d.shape[2];

        private long D => _d.shape[3];

        /// <inheritdoc />
        internal override Tensor PerSampleGradients()
        {
            long b = Samples, v = Outputs;
            // flat row index (n, v, i[n, t]) in a (B·V·rows, d) table
            var baseIdx = (torch.arange(b * v, ScalarType.Int64) * _rows).reshape(b, v, 1);
            var idx = (baseIdx + _i.unsqueeze(1)).reshape(-1);                              // (B·V·T)
            var g = torch.zeros(new long[] { b * v * _rows, D }, _d.dtype);
            g.index_add_(0, idx, _d.reshape(b * v * T, D), 1.0);
            return g.reshape(b, v, _rows * D);
        }

        private double PairTracedFlops(long b2) => 2.0 * Samples * b2 * T * T * (Outputs * D + 2);

        /// <inheritdoc />
        internal override double FormFlops => (double)Samples * Outputs * T * D;

        /// <inheritdoc />
        internal override double TracedFlops(long otherSamples) => Math.Min(PairTracedFlops(otherSamples), base.TracedFlops(otherSamples));

        /// <inheritdoc />
        internal override Tensor Traced(GradientFactors other)
        {
            if (other is not IndexedRowFactors o || o._rows != _rows || o.D != D || PairTracedFlops(o.Samples) > base.TracedFlops(o.Samples))
                return base.Traced(other);
            long b1 = Samples, b2 = o.Samples, t1 = T, t2 = o.T, v = Outputs;
            var gd = _d.permute(0, 2, 1, 3).reshape(b1 * t1, v * D).mm(o._d.permute(0, 2, 1, 3).reshape(b2 * t2, v * D).t());
            var eq = _i.reshape(b1 * t1, 1).eq(o._i.reshape(1, b2 * t2)).to(gd.dtype);
            return (gd * eq).reshape(b1, t1, b2, t2).sum(new long[] { 1, 3 });
        }

        /// <inheritdoc />
        internal override long StoredBytes => MemoryBudget.Sum(MemoryBudget.Product(_d.element_size(), _d.numel()), MemoryBudget.Product(8, _i.numel()));

        /// <inheritdoc />
        internal override GradientFactors To(ScalarType type) => _d.dtype == type ? this : new IndexedRowFactors(_i, _d.to(type), _rows);

        /// <inheritdoc />
        internal override void Detach()
        {
            _d = Keep(_d);
            _i = Keep(_i);
        }

        /// <inheritdoc />
        internal override void Release()
        {
            _d.Dispose();
            _i.Dispose();
        }
    }

    /// <summary>The per-sample gradients given directly: g of shape (B, V, P_t).</summary>
    public sealed class PerSampleGradientFactors : GradientFactors
    {
        private Tensor _g;

        /// <summary>Creates the factors.</summary>
        /// <param name="gradients">g, shape (B, V, P_t).</param>
        public PerSampleGradientFactors(Tensor gradients)
            : base(gradients.shape[0], gradients.shape[1], gradients.shape[2])
        {
            CheckDims(gradients, nameof(gradients), 3);
            _g = gradients.contiguous();
        }

        /// <inheritdoc />
        internal override Tensor PerSampleGradients() => _g;

        /// <inheritdoc />
        internal override long StoredBytes => MemoryBudget.Product(_g.element_size(), _g.numel());

        /// <inheritdoc />
        internal override GradientFactors To(ScalarType type) => _g.dtype == type ? this : new PerSampleGradientFactors(_g.to(type));

        /// <inheritdoc />
        internal override void Detach() => _g = Keep(_g);

        /// <inheritdoc />
        internal override void Release() => _g.Dispose();
    }
}
