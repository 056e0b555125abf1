using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using Entk.Kernels.Rules;
using Entk.Models;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Kernels
{
    /// <summary>
    /// Computes empirical neural tangent kernels
    /// K_cd(x, x') = Σ_μ ∂f_c(x)/∂θ_μ · ∂f_d(x')/∂θ_μ (a sum over all parameters, no normalisation),
    /// reduced as requested (<see cref="KernelReduction"/>), for the whole parameter vector or per
    /// parameter group. x2 = null means x2 = x1. All arithmetic is float64.
    /// </summary>
    /// <example>
    /// C#: <c>var k = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x);</c>
    /// F#: <c>let k = EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x)</c>
    /// </example>
    public static class EmpiricalNtk
    {
        internal const string AllGroup = "all";

        private const string Alternatives =
            "Alternatives: a smaller reduction (KernelReduction.TraceMean or AllPairsMean give N×N), NtkMethod.Structured where the model has it, " +
            "EmpiricalNtk.Spectrum (parameter side when P < N·C), the matrix-free KernelOperator with Lanczos, fewer inputs, or a larger NtkOptions.MemoryBudgetBytes.";

        /// <summary>Computes one reduced kernel over all parameters.</summary>
        /// <param name="model">The model.</param>
        /// <param name="reduction">The reduction (flattened orders must be chosen explicitly).</param>
        /// <param name="x1">Inputs N1 × D.</param>
        /// <param name="x2">Inputs N2 × D, or null for x1.</param>
        /// <param name="options">Options (method, importance rescaling, memory budget, progress).</param>
        /// <returns>The kernel.</returns>
        /// <exception cref="ShapeMismatchException">Inputs of the wrong width.</exception>
        /// <exception cref="EntkArgumentException">Empty inputs, bad options, a method the model does not support.</exception>
        /// <exception cref="MemoryBudgetExceededException">The estimate exceeds the budget; nothing was allocated.</exception>
        public static NtkKernel Compute(NtkModel model, KernelReduction reduction, Matrix x1, Matrix? x2 = null, NtkOptions? options = null)
        {
            var r = Run(model, reduction, x1, x2, options, null, nameof(options));
            return r.Total;
        }

        /// <summary>
        /// Computes one reduced kernel per parameter group and the full kernel. Groups default to one
        /// per parameter tensor; the sum of the group kernels equals the full kernel when the groups cover
        /// every tensor.
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="reduction">The reduction.</param>
        /// <param name="x1">Inputs N1 × D.</param>
        /// <param name="x2">Inputs N2 × D, or null for x1.</param>
        /// <param name="groups">Parameter groups (default: one per tensor).</param>
        /// <param name="options">Options.</param>
        /// <returns>The layerwise kernels.</returns>
        /// <exception cref="EntkArgumentException">Unknown tensor names, overlapping groups, bad options.</exception>
        /// <exception cref="MemoryBudgetExceededException">The estimate exceeds the budget.</exception>
        public static LayerwiseKernels ComputeLayerwise(NtkModel model, KernelReduction reduction, Matrix x1, Matrix? x2 = null, IReadOnlyList<ParameterGroup>? groups = null, NtkOptions? options = null)
        {
            Check.NotNull(model, nameof(model));
            var g = groups ?? model.Layout.PerTensorGroups;
            model.Layout.ValidateGroups(g, nameof(groups));
            var r = Run(model, reduction, x1, x2, options, g, nameof(options));
            return new LayerwiseKernels(r.Groups, r.Total);
        }

        /// <summary>Computes the full (N1, N2, C, C) kernel tensor.</summary>
        /// <param name="model">The model.</param>
        /// <param name="x1">Inputs N1 × D.</param>
        /// <param name="x2">Inputs N2 × D, or null for x1.</param>
        /// <param name="options">Options.</param>
        /// <returns>The tensor.</returns>
        public static KernelTensor ComputeFull(NtkModel model, Matrix x1, Matrix? x2 = null, NtkOptions? options = null)
        {
            var k = Compute(model, KernelReduction.FlattenSampleMajor, x1, x2, options);
            int n1 = k.Samples1, n2 = k.Samples2, c = k.Outputs;
            using var scope = torch.NewDisposeScope();
            var t = TorchOps.ToTensor(k.Matrix.RawData, n1, c, n2, c).permute(0, 2, 1, 3);
            return new KernelTensor(n1, n2, c, TorchOps.ToArray(t), k.Method);
        }

        /// <summary>
        /// The per-sample Jacobian J[n, c, μ] (rows of output c multiplied by I_c^{β/2} when importance
        /// rescaling is requested). Uses the model's closed form under <see cref="NtkMethod.Structured"/>
        /// or <see cref="NtkMethod.Auto"/> when it has one, autograd otherwise.
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="x">Inputs N × D.</param>
        /// <param name="options">Options.</param>
        /// <returns>The Jacobian (N, C, P).</returns>
        public static Jacobian ComputeJacobian(NtkModel model, Matrix x, NtkOptions? options = null)
        {
            Check.NotNull(model, nameof(model));
            var opts = options ?? new NtkOptions();
            model.ValidateInputs(x, nameof(x));
            var s = opts.OutputScales(model.OutputDimension);
            long bytes = 8L * x.Rows * model.OutputDimension * model.ParameterCount * 2;
            MemoryBudget.Require(Check.Inv($"the Jacobian ({x.Rows}, {model.OutputDimension}, {model.ParameterCount})"), bytes, opts.Budget, Alternatives);
            using var scope = torch.NewDisposeScope();
            var xt = TorchOps.ToTensor(x);
            var parts = JacobianParts(model, xt, s, opts, preferStructured: opts.Method is NtkMethod.Auto or NtkMethod.Structured);
            var j = parts.Length == 1 ? parts[0] : torch.cat(parts, 2);
            return new Jacobian(x.Rows, model.OutputDimension, model.Layout, TorchOps.ToArray(j));
        }

        /// <summary>
        /// Top-k eigenpairs of a reduced self-kernel K(x, x), computed from the smaller side: when the
        /// kernel is a Gram matrix J̃J̃ᵀ with fewer columns than rows (flattened kernels with P &lt; N·C;
        /// traced kernels with C·P &lt; N; the all-pairs kernel with P &lt; N; a diagonal block (c, c) with
        /// P &lt; N) the P-side Gram matrix is decomposed and eigenvectors are mapped back, so the large
        /// kernel is never formed. For models with an exact parameter symmetry (TMS: f(QW) = f(W) for orthogonal Q) the
        /// Gram matrix is restricted to the complement of the symmetry directions before the dense eigensolver
        /// (P − m(m−1)/2 instead of P; the spectrum is unchanged, k ≤ P − m(m−1)/2). Otherwise the kernel is computed (structured where available) and
        /// decomposed densely — unless a flattened kernel does not fit the memory budget, in which case the top-k pairs
        /// come from matrix-free Lanczos on K·v = J(Jᵀv) (<see cref="Operator"/>, <see cref="Linalg.Lanczos"/>). Eigenvectors are indexed like the kernel's rows (class-major c·N + n or
        /// sample-major n·C + c for flattened reductions).
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="reduction">A symmetric reduction (a Block(c, d) needs c = d).</param>
        /// <param name="x">Inputs N × D.</param>
        /// <param name="topK">Number of eigenpairs.</param>
        /// <param name="options">Options (importance rescaling applies).</param>
        /// <param name="ridge">Ridge policy (default none; the paper uses <see cref="Linalg.RidgePolicy.Paper"/>).</param>
        /// <returns>The eigenpairs; <see cref="Linalg.EigenDecomposition.Route"/> tells which route ran.</returns>
        public static Linalg.EigenDecomposition Spectrum(NtkModel model, KernelReduction reduction, Matrix x, int topK, NtkOptions? options = null, Linalg.RidgePolicy? ridge = null)
        {
            Check.NotNull(model, nameof(model));
            Check.NotNull(reduction, nameof(reduction));
            var opts = options ?? new NtkOptions();
            model.ValidateInputs(x, nameof(x));
            reduction.Validate(model.OutputDimension, nameof(reduction));
            if (reduction.Kind == KernelReductionKind.Block && reduction.OutputC != reduction.OutputD)
                throw new EntkArgumentException(nameof(reduction), "a symmetric reduction (Block(c, c))", reduction.ToString());
            _ = opts.OutputScales(model.OutputDimension);
            long rows = reduction.RowsFor(x.Rows, model.OutputDimension);
            if (rows > int.MaxValue) throw new EntkArgumentException(nameof(x), "N·C < 2³¹ kernel rows", Check.Inv($"{rows}"));
            Check.InRange(topK, 1, (int)rows, nameof(topK));
            var policy = ridge ?? Linalg.RidgePolicy.None;
            var plans = PlanSpectrum(model, reduction, x, topK, opts, policy);
            foreach (var plan in plans)
                if (plan.Estimate.Bytes <= opts.Budget) return plan.Run();
            throw new MemoryBudgetExceededException(Check.Inv($"the top-{topK} spectrum of the {reduction} kernel ({rows} × {rows}) of {model.Name}"),
                plans.Min(p => p.Estimate.Bytes), opts.Budget,
                "No route fits. Routes and their estimates: " + string.Join("; ", plans.Select(p => p.Name + ": " + p.Estimate.Formula)) +
                ". Raise NtkOptions.MemoryBudgetBytes to at least the smallest, or use fewer inputs or a smaller reduction.");
        }

        /// <summary>A way to compute a spectrum, with its memory estimate.</summary>
        internal sealed class SpectrumPlan
        {
            public SpectrumPlan(string name, MemoryEstimate estimate, Func<Linalg.EigenDecomposition> run)
            {
                Name = name;
                Estimate = estimate;
                Run = run;
            }

            public string Name { get; }

            public MemoryEstimate Estimate { get; }

            public Func<Linalg.EigenDecomposition> Run { get; }
        }

        /// <summary>
        /// Lanczos on a formed kernel: blocks of 16 vectors with a basis of at least 400 (25 blocks). A block product with the
        /// formed matrix is one GEMM, which costs about as much as 2–3 matrix-vector products, so blocks win although they
        /// need more products: on a 10,000² eNTK, top 50 at tolerance 1e-10, 912 products in 5.6 s against 350 single-vector
        /// products in 11.4 s (`entk bench --suite own`, flattened MLP).
        /// </summary>
        internal static Linalg.LanczosOptions FormedLanczos(int rows, int topK) =>
            new() { BlockSize = 16, BasisSize = Math.Min(rows - 16, Math.Max(400, Math.Max(2 * topK + 40, topK + 100))) };

        /// <summary>Dense eigendecomposition of a formed kernel up to this size (above it, Lanczos on the formed kernel when k is small).</summary>
        internal const int DenseEighLimit = 3000;

        /// <summary>Whether the layer-rule engine applies to the model under the options.</summary>
        internal static RuleEngine? RuleEngineFor(NtkModel model, NtkOptions opts) =>
            model is TorchModuleModel tm && opts.Method is NtkMethod.Auto or NtkMethod.Structured ? RuleEngine.Create(tm, opts.LayerRules) : null;

        /// <summary>
        /// The candidate routes of <see cref="Spectrum"/> in order of expected speed: the parameter side (when P is the smaller
        /// side), the formed kernel (dense eigh up to <see cref="DenseEighLimit"/> rows, Lanczos on the formed matrix above
        /// when k ≤ rows/8), and, for flattened kernels, matrix-free Lanczos on a structured operator (model closed forms or
        /// layer-rule factors) or on NTK-vector products.
        /// </summary>
        internal static List<SpectrumPlan> PlanSpectrum(NtkModel model, KernelReduction reduction, Matrix x, int topK, NtkOptions opts, Linalg.RidgePolicy policy)
        {
            var s = opts.OutputScales(model.OutputDimension);
            int n = x.Rows, c = model.OutputDimension, p = model.ParameterCount;
            long rows = reduction.RowsFor(n, c);
            var plans = new List<SpectrumPlan>();
            var rules = RuleEngineFor(model, opts);
            long gramColumns = reduction.Kind is KernelReductionKind.TraceMean or KernelReductionKind.TraceSum ? (long)c * p : p;

            // 1. The parameter side: decompose the P × P Gram matrix when P is the smaller side.
            if (gramColumns < rows && topK <= gramColumns)
            {
                long bytes = MemoryBudget.Sum(MemoryBudget.Product(8, n, c, p, 3), MemoryBudget.Product(8, gramColumns, gramColumns, 3), MemoryBudget.Product(8, rows, topK, 2));
                plans.Add(new SpectrumPlan("parameter-side Gram", new MemoryEstimate(bytes,
                    Check.Inv($"Jacobian 8·{n}·{c}·{p}·3 B + Gram 8·{gramColumns}²·3 B + eigenvectors 8·{rows}·{topK}·2 B = {MemoryBudgetExceededException.FormatBytes(bytes)}")),
                    () => ParameterSideSpectrum(model, reduction, x, topK, opts, policy, s)));
            }

            // 2. The formed kernel.
            MemoryEstimate? formed = null;
            try
            {
                var est = EstimateMemory(model, reduction, n, options: opts, inputs: x);
                // EstimateMemory counts the kernel twice (the tensor and the returned Matrix); the spectrum keeps only the tensor.
                est = new MemoryEstimate(Math.Max(0, est.Bytes - MemoryBudget.Product(8, rows, rows)), est.Formula + Check.Inv($" − the returned copy {MemoryBudget.Product(8, rows, rows)} B"));
                long decomposition = rows <= DenseEighLimit || topK > rows / 8
                    ? MemoryBudget.Product(8, rows, rows, 2)
                    : Linalg.Lanczos.EstimateBytes((int)rows, topK, FormedLanczos((int)rows, topK));
                long bytes = MemoryBudget.Sum(est.Bytes, decomposition);
                formed = new MemoryEstimate(bytes, est.Formula + Check.Inv($" + decomposition {decomposition} B = {MemoryBudgetExceededException.FormatBytes(bytes)}"));
            }
            catch (EntkArgumentException) when (opts.Method == NtkMethod.Structured)
            {
                // Structured unavailable for this reduction: no formed route by that method.
            }
            if (formed is not null)
                plans.Add(new SpectrumPlan("formed kernel", formed, () => FormedSpectrum(model, reduction, x, topK, opts, policy)));

            // 3. Matrix-free Lanczos (flattened kernels).
            if (reduction.IsFlattened)
            {
                long lanczos = Linalg.Lanczos.EstimateBytes((int)rows, topK, new Linalg.LanczosOptions { BlockSize = SpectrumColumns });
                if (rules is not null)
                {
                    var fb = RuleKernels.OperatorEstimate(rules, model, reduction, TorchOps.ToTensor(x), s, opts, SpectrumColumns);
                    // Allocator slack: the capture's freed graph and the stored factors of later chunks interleave, so the
                    // Lanczos blocks that follow do not all reuse freed memory (measured 5–10 % above the data on a 15,000-row
                    // flattened kernel); counted as a fifth of the data.
                    long data = MemoryBudget.Sum(fb.Bytes, lanczos), slack = data / 5;
                    long bytes = MemoryBudget.Sum(data, slack);
                    plans.Add(new SpectrumPlan("matrix-free layer-rule operator", new MemoryEstimate(bytes, fb.Formula + Check.Inv($" + Lanczos {lanczos} B + allocator slack {slack} B = {MemoryBudgetExceededException.FormatBytes(bytes)}")),
                        () => OperatorSpectrum(model, reduction, x, topK, opts, policy)));
                }
                else if (model.Structured is not null && opts.Method is NtkMethod.Auto or NtkMethod.Structured)
                {
                    long bytes = MemoryBudget.Sum(model.Structured.EstimateBytes(reduction, n, n), lanczos);
                    plans.Add(new SpectrumPlan("matrix-free structured operator", new MemoryEstimate(bytes, Check.Inv($"structured factors + Lanczos {lanczos} B = {MemoryBudgetExceededException.FormatBytes(bytes)}")),
                        () => OperatorSpectrum(model, reduction, x, topK, opts, policy)));
                }
                long graph = MemoryBudget.Product(model.JacobianWorkBytesPerSample, Math.Min(n, 64));
                long vp = MemoryBudget.Sum(lanczos, graph, MemoryBudget.Product(8, rows, KernelOperator.ColumnChunk, 4));
                plans.Add(new SpectrumPlan("matrix-free NTK-vector products", new MemoryEstimate(vp, Check.Inv($"Lanczos {lanczos} B + autograd graph {graph} B + product blocks = {MemoryBudgetExceededException.FormatBytes(vp)}")),
                    () => OperatorSpectrum(model, reduction, x, topK, opts with { Method = NtkMethod.NtkVectorProducts }, policy)));
            }
            return plans;
        }

        private static Linalg.EigenDecomposition FormedSpectrum(NtkModel model, KernelReduction reduction, Matrix x, int topK, NtkOptions opts, Linalg.RidgePolicy policy)
        {
            using var scope = torch.NewDisposeScope();
            var core = RunCore(model, reduction, TorchOps.ToTensor(x), null, opts, null, nameof(opts));
            long rows = core.Total.shape[0];
            opts.Progress?.Report(new EntkProgress("spectrum", 0, 1));
            Linalg.EigenDecomposition result;
            if (rows <= DenseEighLimit || topK > rows / 8)
                result = Linalg.SymmetricEigen.FromTensor(core.Total, topK, policy);
            else
            {
                var k = core.Total.DetachFromDisposeScope();
                using var op = KernelOperator.FromTensor(k, Check.Inv($"formed {reduction} eNTK of {model.Name}"), core.Method, owns: true);
                result = Linalg.Lanczos.TopK(op, topK, FormedLanczos((int)rows, topK) with { Ridge = policy, Progress = opts.Progress, MemoryBudgetBytes = opts.MemoryBudgetBytes });
            }
            opts.Progress?.Report(new EntkProgress("spectrum", 1, 1));
            return result.WithTensorRoutes(core.Routes);
        }

        private static Linalg.EigenDecomposition OperatorSpectrum(NtkModel model, KernelReduction reduction, Matrix x, int topK, NtkOptions opts, Linalg.RidgePolicy policy)
        {
            using var op = OperatorWithColumns(model, reduction, x, opts, SpectrumColumns);
            return Linalg.Lanczos.TopK(op, topK, new Linalg.LanczosOptions { Ridge = policy, Progress = opts.Progress, MemoryBudgetBytes = opts.MemoryBudgetBytes, BlockSize = SpectrumColumns })
                .WithTensorRoutes(op.TensorRoutes);
        }

        private static Linalg.EigenDecomposition ParameterSideSpectrum(NtkModel model, KernelReduction reduction, Matrix x, int topK, NtkOptions opts, Linalg.RidgePolicy policy, double[] s)
        {
            int n = x.Rows, c = model.OutputDimension, p = model.ParameterCount;
            long rows = reduction.RowsFor(n, c);
            using var scope = torch.NewDisposeScope();
            var xt = TorchOps.ToTensor(x);
            bool structuredOk = opts.Method is NtkMethod.Auto or NtkMethod.Structured;
            if (structuredOk && reduction.IsFlattened && model.Structured?.ParameterGram(xt, s) is Tensor gram)
            {
                opts.Progress?.Report(new EntkProgress("spectrum", 0, 1));
                bool classMajor = reduction.Kind == KernelReductionKind.FlattenClassMajor;
                Func<Tensor, Tensor> lift = v => v;
                // Exact symmetries of the model (directions J̃ vanishes on) shrink the matrix to decompose.
                if (model.Structured!.SymmetryReduce(gram) is { } reduced && topK <= reduced.Gram.shape[0])
                {
                    gram = reduced.Gram;
                    lift = reduced.Lift;
                }
                var res = Linalg.SymmetricEigen.FromGramMatrix(gram, rows, topK, policy, v =>
                {
                    var u = model.Structured!.JacobianProduct(xt, s, lift(v))!;    // (N, C, k)
                    return classMajor ? u.permute(1, 0, 2).reshape(rows, v.shape[1]) : u.reshape(rows, v.shape[1]);
                });
                opts.Progress?.Report(new EntkProgress("spectrum", 1, 1));
                return res.WithTensorRoutes(Routes(model, TensorRouteKind.ClosedForm, "closed form of " + model.Name));
            }
            var parts = JacobianParts(model, xt, s, opts, preferStructured: structuredOk, out var routes);
            var j = parts.Length == 1 ? parts[0] : torch.cat(parts, 2);      // (N, C, P), rows scaled by s_c
            Tensor jt = reduction.Kind switch
            {
                KernelReductionKind.FlattenSampleMajor => j.reshape(n * c, p),
                KernelReductionKind.FlattenClassMajor => j.permute(1, 0, 2).reshape(c * n, p),
                KernelReductionKind.TraceMean => j.reshape(n, (long)c * p) / Math.Sqrt(c),
                KernelReductionKind.TraceSum => j.reshape(n, (long)c * p),
                KernelReductionKind.AllPairsMean => j.sum(1) / c,
                KernelReductionKind.Block => j.select(1, reduction.OutputC),
                _ => throw new InvalidOperationException(),
            };
            opts.Progress?.Report(new EntkProgress("spectrum", 0, 1));
            var result = Linalg.SymmetricEigen.FromJacobianTensor(jt.contiguous(), topK, policy);
            opts.Progress?.Report(new EntkProgress("spectrum", 1, 1));
            return result.WithTensorRoutes(routes);
        }

        /// <summary>
        /// The reduced self-kernel K(x, x) as a matrix-free operator. Flattened reductions are applied as
        /// K·v = J·(Jᵀ·v) — by the model's structured rule (method Auto or Structured) or by NTK-vector products
        /// from reverse-mode passes (NtkVectorProducts, or Auto without a rule) — so K is never formed; memory is
        /// that of the structured factors or of one forward/backward pass. Other reductions (N × N) are formed
        /// (within the memory budget) and wrapped. Vector indices follow the reduction's row order.
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="reduction">The reduction.</param>
        /// <param name="x">Inputs N × D.</param>
        /// <param name="options">Options (importance rescaling applies; JacobianContraction is not an operator method).</param>
        /// <returns>The operator.</returns>
        public static KernelOperator Operator(NtkModel model, KernelReduction reduction, Matrix x, NtkOptions? options = null) =>
            OperatorWithColumns(model, reduction, x, options, RuleKernels.OperatorColumns);

        /// <summary>Lanczos block size of the spectrum routes (one column per product: fewest products, see <see cref="Linalg.LanczosOptions.BlockSize"/>).</summary>
        private const int SpectrumColumns = 1;

        private static KernelOperator OperatorWithColumns(NtkModel model, KernelReduction reduction, Matrix x, NtkOptions? options, int columns)
        {
            Check.NotNull(model, nameof(model));
            Check.NotNull(reduction, nameof(reduction));
            var opts = options ?? new NtkOptions();
            model.ValidateInputs(x, nameof(x));
            reduction.Validate(model.OutputDimension, nameof(reduction));
            var s = opts.OutputScales(model.OutputDimension);
            int n = x.Rows, c = model.OutputDimension;
            if (!reduction.IsFlattened)
            {
                var k = Compute(model, reduction, x, null, opts);
                return KernelOperator.FromMatrix(k.Matrix).WithRoutes(k.TensorRoutes);
            }
            long dim = (long)n * c;
            if (dim > int.MaxValue) throw new EntkArgumentException(nameof(x), "N·C < 2³¹", Check.Inv($"{dim}"));
            bool classMajor = reduction.Kind == KernelReductionKind.FlattenClassMajor;
            string order = classMajor ? "class" : "sample";
            if (RuleEngineFor(model, opts) is RuleEngine engine)
                return RuleKernels.Operator(engine, model, reduction, TorchOps.ToTensor(x), s, opts, Check.Inv($"flattened {order}-major eNTK of {model.Name} (layer rules)"), columns);
            Tensor ToBlocks(Tensor v) => classMajor ? v.reshape(c, n, v.shape[1]).permute(1, 0, 2).contiguous() : v.reshape(n, c, v.shape[1]);
            Tensor FromBlocks(Tensor y) => classMajor ? y.permute(1, 0, 2).reshape(dim, y.shape[2]) : y.reshape(dim, y.shape[2]);
            var xt = TorchOps.ToTensor(x).clone().DetachFromDisposeScope();
            if (opts.Method is NtkMethod.Auto or NtkMethod.Structured)
            {
                if (model.Structured is { } st)
                    MemoryBudget.Require(Check.Inv($"the matrix-free {reduction} operator of {model.Name} (structured factors)"), st.OperatorBytes(n, c, model.ParameterCount, model.InputDimension), opts.Budget, Alternatives);
                using var scope = torch.NewDisposeScope();
                var so = model.Structured?.FlatOperator(xt, s);
                if (so is not null)
                    return new KernelOperator((int)dim, Check.Inv($"flattened {order}-major eNTK of {model.Name} (Structured)"),
                        v => FromBlocks(so.Apply(ToBlocks(v))), so.Trace, NtkMethod.Structured, Routes(model, TensorRouteKind.ClosedForm, "closed form of " + model.Name));
                if (opts.Method == NtkMethod.Structured)
                    throw new EntkArgumentException(nameof(options) + ".Method", "a method the model supports as an operator", "Structured, which model '" + model.Name + "' does not provide");
            }
            if (opts.Method == NtkMethod.JacobianContraction)
                throw new EntkArgumentException(nameof(options) + ".Method", "Auto, Structured or NtkVectorProducts for an operator", "JacobianContraction (which forms the Jacobian)");
            long graph = MemoryBudget.Sum(MemoryBudget.Product(model.JacobianWorkBytesPerSample, Math.Min(n, 64)), MemoryBudget.Product(8, dim, KernelOperator.ColumnChunk, 4));
            MemoryBudget.Require(Check.Inv($"the matrix-free {reduction} operator of {model.Name} by NTK-vector products (autograd graph and product blocks {graph} B)"), graph, opts.Budget, Alternatives);
            var scale = TorchOps.ToTensor(s, 1, c).clone().DetachFromDisposeScope();
            double trace = FlattenedTrace(model, xt, s, opts);
            return new KernelOperator((int)dim, Check.Inv($"flattened {order}-major eNTK of {model.Name} (NtkVectorProducts)"), v =>
            {
                var blocks = ToBlocks(v);                                    // (N, C, b)
                var outs = new Tensor[blocks.shape[2]];
                using var session = model.OpenSession();
                for (int i = 0; i < outs.Length; i++)
                {
                    var vi = blocks.select(2, i) * scale;                    // rows of output c scaled by s_c
                    var u = NtkVectorProducts.Vjp(session, xt, vi);
                    outs[i] = NtkVectorProducts.Jvp(session, xt, u) * scale;
                }
                return FromBlocks(torch.stack(outs, 2));
            }, trace, NtkMethod.NtkVectorProducts, Routes(model, TensorRouteKind.NtkVectorProducts, "NTK-vector products"));
        }

        /// <summary>trace of the flattened (s-scaled) kernel = Σ_{n,c} s_c² ‖∇θ f_c(x_n)‖², streamed over sample chunks.</summary>
        private static double FlattenedTrace(NtkModel model, Tensor x, double[] s, NtkOptions opts)
        {
            using var scope = torch.NewDisposeScope();
            var w = torch.diag(TorchOps.ToTensor(s, s.Length));
            long n = x.shape[0];
            int chunk = (int)Math.Clamp(opts.Budget / 8 / Math.Max(1, 8L * model.OutputDimension * model.ParameterCount + model.JacobianWorkBytesPerSample), 1, 256);
            double total = 0;
            for (long start = 0; start < n; start += chunk)
            {
                using var inner = torch.NewDisposeScope();
                long nb = Math.Min(chunk, n - start);
                var parts = model.JacobianTensors(x.narrow(0, start, nb), w, chunk, null);
                foreach (var p in parts) total += p.pow(2).sum().item<double>();
            }
            return total;
        }

        internal sealed class RunResult
        {
            public RunResult(NtkKernel total, NtkKernel[] groups)
            {
                Total = total;
                Groups = groups;
            }

            public NtkKernel Total { get; }

            public NtkKernel[] Groups { get; }
        }

        /// <summary>Resolves Auto and checks that the requested method is available.</summary>
        internal static NtkMethod ResolveMethod(NtkModel model, KernelReduction reduction, NtkMethod requested, string paramName, IReadOnlyList<ILayerRule>? rules = null)
        {
            var st = model.Structured;
            bool structured = (st is not null && st.Supports(reduction)) || (model is TorchModuleModel tm && RuleEngine.Create(tm, rules) is not null);
            return requested switch
            {
                NtkMethod.Auto => structured ? NtkMethod.Structured : NtkMethod.JacobianContraction,
                NtkMethod.Structured when !structured => throw new EntkArgumentException(paramName + ".Method",
                    "a method the model supports for " + reduction, "Structured, which model '" + model.Name + "' does not provide for this reduction",
                    "Use NtkMethod.JacobianContraction or NtkMethod.Auto."),
                _ => requested,
            };
        }

        private static RunResult Run(NtkModel model, KernelReduction reduction, Matrix x1, Matrix? x2, NtkOptions? options, IReadOnlyList<ParameterGroup>? groups, string optionsName)
        {
            Check.NotNull(model, nameof(model));
            Check.NotNull(reduction, nameof(reduction));
            var opts = options ?? new NtkOptions();
            model.ValidateInputs(x1, nameof(x1));
            if (x2 is not null) model.ValidateInputs(x2, nameof(x2));
            reduction.Validate(model.OutputDimension, nameof(reduction));
            int n1 = x1.Rows, n2 = (x2 ?? x1).Rows, c = model.OutputDimension;
            int groupCount = groups?.Count ?? 0;
            using var scope = torch.NewDisposeScope();
            var xt1 = TorchOps.ToTensor(x1);
            var xt2 = x2 is null ? null : TorchOps.ToTensor(x2);
            var core = RunCore(model, reduction, xt1, xt2, opts, groups, optionsName);
            bool rescaled = opts.Beta != 0 && opts.Importance is not null;
            var totalK = new NtkKernel(TorchOps.ToMatrix(core.Total), reduction, core.Method, AllGroup, n1, n2, c, rescaled, core.Routes);
            var gks = new NtkKernel[groupCount];
            for (int gi = 0; gi < groupCount; gi++)
            {
                var names = new HashSet<string>(groups![gi].TensorNames, StringComparer.Ordinal);
                gks[gi] = new NtkKernel(TorchOps.ToMatrix(core.Groups[gi]), reduction, core.Method, groups[gi].Name, n1, n2, c, rescaled, core.Routes.Where(r => names.Contains(r.Tensor)).ToArray());
            }
            return new RunResult(totalK, gks);
        }

        internal sealed class CoreResult
        {
            public CoreResult(Tensor total, Tensor[] groups, IReadOnlyList<TensorRoute> routes, NtkMethod method)
            {
                Total = total;
                Groups = groups;
                Routes = routes;
                Method = method;
            }

            public Tensor Total { get; }

            public Tensor[] Groups { get; }

            public IReadOnlyList<TensorRoute> Routes { get; }

            public NtkMethod Method { get; }
        }

        /// <summary>The kernel computation on validated tensor inputs; tensors belong to the caller's dispose scope.</summary>
        internal static CoreResult RunCore(NtkModel model, KernelReduction reduction, Tensor xt1, Tensor? xt2, NtkOptions opts, IReadOnlyList<ParameterGroup>? groups, string optionsName)
        {
            var s = opts.OutputScales(model.OutputDimension);
            var method = ResolveMethod(model, reduction, opts.Method, optionsName, opts.LayerRules);
            long n1 = xt1.shape[0], n2 = (xt2 ?? xt1).shape[0];
            int c = model.OutputDimension;
            long rows = reduction.RowsFor(n1, c), cols = reduction.RowsFor(n2, c);
            int groupCount = groups?.Count ?? 0;
            long kernelBytes = MemoryBudget.Product(8, rows, cols, groupCount + 2);
            var tensorGroup = new int[model.Layout.Tensors.Count];
            Array.Fill(tensorGroup, -1);
            if (groups is not null)
                for (int gi = 0; gi < groups.Count; gi++)
                    foreach (var name in groups[gi].TensorNames) tensorGroup[model.Layout.IndexOf(name)] = gi;
            Tensor total;
            Tensor[] groupKernels = new Tensor[groupCount];
            IReadOnlyList<TensorRoute> routes;
            switch (method)
            {
                case NtkMethod.Structured when model is TorchModuleModel tm:
                {
                    var engine = RuleEngine.Create(tm, opts.LayerRules)!;
                    var r = RuleKernels.Compute(engine, model, reduction, xt1, xt2, s, opts, tensorGroup, groupCount, optionsName);
                    total = r.Total;
                    groupKernels = r.Groups;
                    routes = r.Routes;
                    break;
                }
                case NtkMethod.Structured:
                {
                    var st = model.Structured!;
                    routes = Routes(model, TensorRouteKind.ClosedForm, "closed form of " + model.Name);
                    var est = EstimateMemory(model, reduction, (int)n1, xt2 is null ? null : (int)n2, groupCount, opts);
                    MemoryBudget.Require(Check.Inv($"the {reduction} kernel ({rows} × {cols}) by structured derivatives ({est.Formula})"), est.Bytes, opts.Budget, Alternatives);
                    opts.Progress?.Report(new EntkProgress("structured kernel", 0, 1));
                    var parts = st.PerTensor(xt1, xt2, reduction, s);
                    var reduced = parts.Select(p => p.dim() == 4 ? reduction.Apply(p) : p).ToArray();
                    Accumulate(reduced, tensorGroup, groupKernels, out total);
                    opts.Progress?.Report(new EntkProgress("structured kernel", 1, 1));
                    break;
                }
                case NtkMethod.JacobianContraction:
                    total = ContractJacobians(model, reduction, xt1, xt2, s, opts, tensorGroup, groupKernels, kernelBytes);
                    routes = Routes(model, TensorRouteKind.Generic, "Jacobian contraction (per-sample autograd)");
                    break;
                case NtkMethod.NtkVectorProducts:
                {
                    routes = Routes(model, TensorRouteKind.NtkVectorProducts, "NTK-vector products");
                    var est = EstimateMemory(model, reduction, (int)n1, xt2 is null ? null : (int)n2, groupCount, opts);
                    MemoryBudget.Require(Check.Inv($"the {reduction} kernel ({rows} × {cols}) by NTK-vector products ({est.Formula})"), est.Bytes, opts.Budget, Alternatives);
                    var parts = NtkVectorProducts.PerTensorKernels(model, xt1, xt2, reduction, s, opts);
                    Accumulate(parts, tensorGroup, groupKernels, out total);
                    break;
                }
                default:
                    throw new EntkArgumentException(optionsName + ".Method", "a defined NtkMethod", method.ToString());
            }
            for (int gi = 0; gi < groupCount; gi++) groupKernels[gi] ??= torch.zeros(rows, cols, ScalarType.Float64);
            foreach (var v in new[] { total }.Concat(groupKernels))
                if (!torch.isfinite(v).all().item<bool>())
                    throw new NonFiniteValueException("model", "the kernel (the model's outputs or gradients overflow or are NaN at these inputs or parameters)", double.NaN);
            return new CoreResult(total, groupKernels, routes, method);
        }

        private static TensorRoute[] Routes(NtkModel model, TensorRouteKind kind, string description) =>
            model.Layout.Tensors.Select(t => new TensorRoute(t.Name, kind, description)).ToArray();

        private static void Accumulate(Tensor[] perTensor, int[] tensorGroup, Tensor[] groupKernels, out Tensor total)
        {
            total = perTensor[0].clone();
            for (int t = 1; t < perTensor.Length; t++) total.add_(perTensor[t]);
            for (int t = 0; t < perTensor.Length; t++)
            {
                int gi = tensorGroup[t];
                if (gi < 0) continue;
                if (groupKernels[gi] is null) groupKernels[gi] = perTensor[t].clone();
                else groupKernels[gi].add_(perTensor[t]);
            }
        }

        /// <summary>Per-tensor Jacobians (N, C, count_t), rows of output c scaled by s_c.</summary>
        internal static Tensor[] JacobianParts(NtkModel model, Tensor x, double[] s, NtkOptions opts, bool preferStructured) =>
            JacobianParts(model, x, s, opts, preferStructured, out _);

        /// <summary>Per-tensor Jacobians (N, C, count_t), rows scaled by s_c, and the route of every tensor.</summary>
        internal static Tensor[] JacobianParts(NtkModel model, Tensor x, double[] s, NtkOptions opts, bool preferStructured, out TensorRoute[] routes)
        {
            if (preferStructured && model.Structured?.Jacobians(x, s) is Tensor[] closed)
            {
                routes = Routes(model, TensorRouteKind.ClosedForm, "closed form of " + model.Name);
                return closed;
            }
            var w = torch.diag(TorchOps.ToTensor(s, s.Length));
            if (preferStructured && RuleEngineFor(model, opts) is RuleEngine engine)
                return RuleKernels.Jacobians(engine, model, x, w, opts, out routes);
            routes = Routes(model, TensorRouteKind.Generic, "per-sample autograd");
            return AutogradJacobians(model, x, w, opts, "jacobian");
        }

        /// <summary>Autograd Jacobians of the virtual outputs w·f (w: V × C).</summary>
        internal static Tensor[] AutogradJacobians(NtkModel model, Tensor x, Tensor w, NtkOptions opts, string stage)
        {
            long n = x.shape[0];
            int chunk = SampleChunk(model, opts);
            long done = 0;
            var progress = opts.Progress;
            progress?.Report(new EntkProgress(stage, 0, n));
            return model.JacobianTensors(x, w, chunk, k =>
            {
                done += k;
                progress?.Report(new EntkProgress(stage, done, n));
            });
        }

        internal sealed class ContractionPlan
        {
            public ContractionPlan(int outputChunk, MemoryEstimate estimate)
            {
                OutputChunk = outputChunk;
                Estimate = estimate;
            }

            public int OutputChunk { get; }

            public MemoryEstimate Estimate { get; }
        }

        /// <summary>Samples per chunk of the per-sample Jacobian computation.</summary>
        internal static int SampleChunk(NtkModel model, NtkOptions opts) =>
            opts.ChunkSize ?? (int)Math.Clamp(opts.Budget / 4 / Math.Max(1, model.JacobianWorkBytesPerSample), 1, 256);

        /// <summary>
        /// Memory plan of the Jacobian contraction: V virtual outputs (C; 1 for AllPairsMean; 2 for a Block), Jacobians of
        /// 8·(N1 + N2)·V_c·P bytes for V_c outputs at a time (traced reductions stream over outputs so that the Jacobians stay
        /// within a quarter of the budget; other reductions need all V at once), the per-sample work of one sample chunk, and
        /// the kernels (8·R1·R2 bytes each: the total, one per group, one temporary).
        /// </summary>
        internal static ContractionPlan PlanContraction(NtkModel model, KernelReduction reduction, long n1, long n2, bool hasX2, long kernelBytes, NtkOptions opts)
        {
            int c = model.OutputDimension;
            long p = model.ParameterCount;
            long v = reduction.Kind switch { KernelReductionKind.AllPairsMean => 1, KernelReductionKind.Block => 2, _ => c };
            long rowsJ = n1 + (hasX2 ? n2 : 0);
            long perOutput = MemoryBudget.Product(8, rowsJ, p);
            bool trace = reduction.Kind is KernelReductionKind.TraceMean or KernelReductionKind.TraceSum;
            long chunkV = v;
            if (trace) chunkV = Math.Clamp(opts.Budget / 4 / Math.Max(1, perOutput), 1, v);
            long work = MemoryBudget.Product(model.JacobianWorkBytesPerSample, model.BatchesJacobians ? Math.Min(SampleChunk(model, opts), Math.Max(n1, n2)) : 1);
            long diag = MemoryBudget.Product(8, v, c);
            long bytes = MemoryBudget.Sum(MemoryBudget.Product(perOutput, chunkV), work, kernelBytes, diag);
            string formula = Check.Inv($"Jacobians 8·{rowsJ}·{chunkV}·{p} B + per-sample work {work} B + kernels {kernelBytes} B + output weights {diag} B = {MemoryBudgetExceededException.FormatBytes(bytes)}");
            return new ContractionPlan((int)chunkV, new MemoryEstimate(bytes, formula));
        }

        /// <summary>
        /// The memory Entk will need for <see cref="Compute"/> / <see cref="ComputeLayerwise"/> with these arguments, by the
        /// formula of the method that would run (the same estimate that is checked against the budget before anything is
        /// allocated). Jacobian contraction: 8·(N1 + N2)·V_c·P (Jacobians, V_c outputs at a time) + per-sample work of one
        /// chunk + 8·R1·R2·(G + 2) (kernels, G groups); structured: 8·R1·R2·(G + 2) + the model's rule; NTK-vector products:
        /// 8·R1·R2·(T + G + 2) (T parameter tensors) + one forward/backward graph.
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="reduction">The reduction.</param>
        /// <param name="samples1">N1.</param>
        /// <param name="samples2">N2, or null when x2 = x1.</param>
        /// <param name="groups">Number of parameter groups for a layerwise computation (0 for the full kernel only).</param>
        /// <param name="options">Options (method and budget).</param>
        /// <returns>The estimate.</returns>
        /// <param name="inputs">Optional inputs (N1 × D) the computation will run on; the layer-rule engine probes one row to size its
        /// stored factors (a zero row is used when absent).</param>
        public static MemoryEstimate EstimateMemory(NtkModel model, KernelReduction reduction, int samples1, int? samples2 = null, int groups = 0, NtkOptions? options = null, Matrix? inputs = null)
        {
            Check.NotNull(model, nameof(model));
            Check.NotNull(reduction, nameof(reduction));
            Check.Positive(samples1, nameof(samples1));
            if (samples2 is int s2) Check.Positive(s2, nameof(samples2));
            Check.NonNegative(groups, nameof(groups));
            var opts = options ?? new NtkOptions();
            reduction.Validate(model.OutputDimension, nameof(reduction));
            var method = ResolveMethod(model, reduction, opts.Method, nameof(options), opts.LayerRules);
            int c = model.OutputDimension;
            long n1 = samples1, n2 = samples2 ?? samples1;
            long kernelBytes = MemoryBudget.Product(8, reduction.RowsFor(n1, c), reduction.RowsFor(n2, c), groups + 2);
            switch (method)
            {
                case NtkMethod.Structured when model is TorchModuleModel tm:
                {
                    if (inputs is not null) model.ValidateInputs(inputs, nameof(inputs));
                    var engine = RuleEngine.Create(tm, opts.LayerRules)!;
                    using var scope = torch.NewDisposeScope();
                    var probe = inputs is null ? torch.zeros(1, model.InputDimension, ScalarType.Float64) : TorchOps.ToTensor(inputs).narrow(0, 0, 1);
                    var w = RuleKernels.OutputWeights(reduction, opts.OutputScales(c));
                    var profile = engine.Profile(probe, w);
                    bool full = reduction.IsFlattened || reduction.Kind == KernelReductionKind.Block;
                    return RuleKernels.Estimate(kernelBytes, profile, n1 + (samples2 is null ? 0 : n2), opts.Budget, full, out _, out _, opts);
                }
                case NtkMethod.Structured:
                {
                    long b = MemoryBudget.Sum(kernelBytes, model.Structured!.EstimateBytes(reduction, n1, n2));
                    return new MemoryEstimate(b, Check.Inv($"kernels {kernelBytes} B + structured rule {b - kernelBytes} B = {MemoryBudgetExceededException.FormatBytes(b)}"));
                }
                case NtkMethod.NtkVectorProducts:
                {
                    long flat = MemoryBudget.Product(8, n1, c, n2, c);
                    long cols = MemoryBudget.Product(flat, model.Layout.Tensors.Count + 1);
                    long b = MemoryBudget.Sum(kernelBytes, cols, MemoryBudget.Product(model.JacobianWorkBytesPerSample, Math.Max(n1, n2)));
                    return new MemoryEstimate(b, Check.Inv($"kernels {kernelBytes} B + per-tensor flattened columns {cols} B + one graph = {MemoryBudgetExceededException.FormatBytes(b)}"));
                }
                default:
                    return PlanContraction(model, reduction, n1, n2, samples2 is not null, kernelBytes, opts).Estimate;
            }
        }

        /// <summary>Phase timings of the last Jacobian-contraction computation on this thread (for the benchmark).</summary>
        [ThreadStatic]
        private static Timings? _lastTimings;

        internal static Timings LastTimings => _lastTimings ??= new Timings();

        internal sealed class Timings
        {
            public double JacobianSeconds { get; set; }

            public double ContractionSeconds { get; set; }

            public double ContractionFlops { get; set; }

            public void Reset()
            {
                JacobianSeconds = 0;
                ContractionSeconds = 0;
                ContractionFlops = 0;
            }
        }

        private static Tensor ContractJacobians(NtkModel model, KernelReduction reduction, Tensor x1, Tensor? x2, double[] s, NtkOptions opts, int[] tensorGroup, Tensor[] groupKernels, long kernelBytes)
        {
            long n1 = x1.shape[0], n2 = (x2 ?? x1).shape[0];
            int c = model.OutputDimension;
            long p = model.ParameterCount;
            var plan = PlanContraction(model, reduction, n1, n2, x2 is not null, kernelBytes, opts);
            int outputChunk = plan.OutputChunk;
            MemoryBudget.Require(Check.Inv($"the {reduction} kernel by Jacobian contraction ({plan.Estimate.Formula})"), plan.Estimate.Bytes, opts.Budget, Alternatives);
            var w = RuleKernels.OutputWeights(reduction, s);           // V × C, allocated only after the plan fits
            long v = w.shape[0];

            Tensor? total = null;
            for (int start = 0; start < v; start += outputChunk)
            {
                using var scope = torch.NewDisposeScope();
                int vb = (int)Math.Min(outputChunk, v - start);
                var wb = w.narrow(0, start, vb);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var j1 = AutogradJacobians(model, x1, wb, opts, x2 is null ? "jacobian" : "jacobian x1");
                var j2 = x2 is null ? j1 : AutogradJacobians(model, x2, wb, opts, "jacobian x2");
                LastTimings.JacobianSeconds += clock.Elapsed.TotalSeconds;
                for (int t = 0; t < j1.Length; t++)
                {
                    clock.Restart();
                    var kt = ContractOne(reduction, j1[t], j2[t], n1, n2, c);
                    LastTimings.ContractionSeconds += clock.Elapsed.TotalSeconds;
                    LastTimings.ContractionFlops += 2.0 * kt.numel() * j1[t].shape[2] * (reduction.IsFlattened || reduction.Kind == KernelReductionKind.Block ? 1 : j1[t].shape[1]);
                    if (total is null) total = kt.clone().MoveToOuterDisposeScope();
                    else total.add_(kt);
                    int gi = tensorGroup[t];
                    if (gi < 0) continue;
                    if (groupKernels[gi] is null) groupKernels[gi] = kt.clone().MoveToOuterDisposeScope();
                    else groupKernels[gi].add_(kt);
                }
            }
            if (reduction.Kind == KernelReductionKind.TraceMean)
            {
                total!.div_(c);
                foreach (var g in groupKernels) g?.div_(c);
            }
            else if (reduction.Kind == KernelReductionKind.AllPairsMean)
            {
                total!.div_((double)c * c);
                foreach (var g in groupKernels) g?.div_((double)c * c);
            }
            return total!;
        }

        /// <summary>Contracts one tensor's Jacobians (N1, V, Pt), (N2, V, Pt) into the (unnormalised) reduced kernel.</summary>
        private static Tensor ContractOne(KernelReduction reduction, Tensor j1, Tensor j2, long n1, long n2, int c)
        {
            long v = j1.shape[1], pt = j1.shape[2];
            switch (reduction.Kind)
            {
                case KernelReductionKind.FlattenSampleMajor:
                    return j1.reshape(n1 * v, pt).mm(j2.reshape(n2 * v, pt).t());
                case KernelReductionKind.FlattenClassMajor:
                    // Contract in sample-major order (no copy of the Jacobians), then permute the (smaller) kernel.
                    return j1.reshape(n1 * v, pt).mm(j2.reshape(n2 * v, pt).t()).reshape(n1, v, n2, v).permute(1, 0, 3, 2).reshape(v * n1, v * n2);
                case KernelReductionKind.TraceMean:
                case KernelReductionKind.TraceSum:
                case KernelReductionKind.AllPairsMean:
                    // Σ_v Σ_μ J1[n, v, μ] J2[m, v, μ] as one GEMM over the joint (v, μ) index.
                    return j1.reshape(n1, v * pt).mm(j2.reshape(n2, v * pt).t());
                case KernelReductionKind.Block:
                    return j1.select(1, 0).mm(j2.select(1, 1).t());
                default:
                    throw new InvalidOperationException();
            }
        }
    }
}
