using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Entk.Internal;
using Entk.Kernels;
using Entk.Models;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Linearization
{
    /// <summary>
    /// Kernel regression with the flattened empirical NTK of any <see cref="NtkModel"/> (docs/paper-notes.md §1.9; the
    /// author's <c>LinearisedPredictor</c>). Conventions:
    /// <list type="bullet">
    /// <item>K(x, X) is the flattened eNTK in <b>sample-major</b> order: row r = n·C + c (sample n, output c), column
    /// s = m·C + d; K(X, X) is N·C × N·C. Targets Y (N × C) and model outputs f(X) are flattened the same way.</item>
    /// <item>The ridge λ is <b>absolute</b> (added as K + λI, not scaled by the kernel's diagonal), λ &gt; 0.</item>
    /// <item>Two variants (<see cref="LinearizationVariant"/>): "expand around model"
    /// f_lin(x) = f(x) + K(x, X)(K + λI)⁻¹(Y − f(X)) and "pure NTK" f_lin(x) = K(x, X)(K + λI)⁻¹Y.</item>
    /// <item>With importance rescaling (β ≠ 0 in <see cref="KernelRegressionOptions.Ntk"/>) K is K̃ = D K D, D = diag(I_c^{β/2}).</item>
    /// </list>
    /// Predictions never form the cross kernel: K(x, X)α = J̃(x)·δθ with δθ = J̃(X)ᵀα (a parameter vector), so
    /// f_lin is the network linearised at θ and evaluated at θ + δθ ("expand") or its tangent part alone ("pure").
    /// </summary>
    /// <example>
    /// C#: <c>var fit = KernelRegression.Fit(model, x, y, 1e-4); var yTest = fit.Predict(xTest, LinearizationVariant.ExpandAroundModel);</c>
    /// F#: <c>let fit = KernelRegression.Fit(model, x, y, 1e-4)</c>
    /// </example>
    public static class KernelRegression
    {
        private const string Alternatives =
            "Alternatives: LinearSolveMethod.ConjugateGradient (matrix-free) or Auto, fewer training samples, a smaller PreconditionerRank, or a larger NtkOptions.MemoryBudgetBytes.";

        /// <summary>Fits the two predictors for one ridge (see <see cref="FitMany"/>).</summary>
        /// <param name="model">The model (any <see cref="NtkModel"/>).</param>
        /// <param name="xTrain">Training inputs X, N × D.</param>
        /// <param name="yTrain">Targets Y, N × C.</param>
        /// <param name="ridge">Absolute ridge λ &gt; 0.</param>
        /// <param name="options">Options (method, eNTK options, CG settings).</param>
        /// <returns>The fit.</returns>
        public static KernelRegressionFit Fit(NtkModel model, Matrix xTrain, Matrix yTrain, double ridge, KernelRegressionOptions? options = null) =>
            FitMany(model, xTrain, yTrain, new[] { ridge }, options)[0];

        /// <summary>
        /// Fits the two predictors for several ridges, sharing the expensive part (the Gram matrix, the kernel or the
        /// Nyström sketch) across them. Both right-hand sides v ∈ {Y, Y − f(X)} are solved for every ridge.
        /// </summary>
        /// <param name="model">The model.</param>
        /// <param name="xTrain">Training inputs X, N × D.</param>
        /// <param name="yTrain">Targets Y, N × C (finite).</param>
        /// <param name="ridges">Absolute ridges λ &gt; 0 (at least one).</param>
        /// <param name="options">Options.</param>
        /// <returns>One fit per ridge, in the given order.</returns>
        /// <exception cref="ShapeMismatchException">X of the wrong width, or Y not N × C.</exception>
        /// <exception cref="EntkArgumentException">A ridge ≤ 0 or not finite, bad options, a method the model cannot run, or a ridge too small for K + λI to be numerically positive definite.</exception>
        /// <exception cref="NonFiniteValueException">X or Y holds NaN or ±∞.</exception>
        /// <exception cref="MemoryBudgetExceededException">The requested method (or every method, for Auto) exceeds the budget; nothing large was allocated.</exception>
        /// <exception cref="InvalidOperationException">Conjugate gradient did not reach the tolerance.</exception>
        public static IReadOnlyList<KernelRegressionFit> FitMany(NtkModel model, Matrix xTrain, Matrix yTrain, IReadOnlyList<double> ridges, KernelRegressionOptions? options = null)
        {
            Check.NotNull(model, nameof(model));
            var o = options ?? new KernelRegressionOptions();
            var ntk = o.Ntk ?? new NtkOptions();
            model.ValidateInputs(xTrain, nameof(xTrain));
            ValidateTargets(model, xTrain.Rows, yTrain, nameof(yTrain));
            Check.NotNull(ridges, nameof(ridges));
            if (ridges.Count == 0) throw new EntkArgumentException(nameof(ridges), "at least one ridge", "an empty list");
            foreach (var r in ridges) Check.PositiveFinite(r, nameof(ridges));
            ValidateOptions(o, nameof(options));
            var s = ntk.OutputScales(model.OutputDimension);
            int n = xTrain.Rows, c = model.OutputDimension, p = model.ParameterCount;
            long dim = (long)n * c;
            if (dim > int.MaxValue) throw new EntkArgumentException(nameof(xTrain), "N·C < 2³¹", Check.Inv($"N·C = {dim}"));
            var plan = Plan(model, n, o, ntk, nameof(options));
            var sw = Stopwatch.StartNew();
            var progress = ntk.Progress;
            using var scope = torch.NewDisposeScope();
            var xt = TorchOps.ToTensor(xTrain);
            Tensor fx;
            using (torch.no_grad()) fx = model.EvaluateTensor(xt).to(ScalarType.Float64);
            var y = TorchOps.ToTensor(yTrain);
            var v = torch.stack(new[] { y.reshape(dim), (y - fx).reshape(dim) }, 1);       // (N·C, 2): pure, expand
            var maps = new TangentMaps(model, s, ntk);
            var fits = new List<KernelRegressionFit>();
            var fxm = TorchOps.ToMatrix(fx);
            double setup;
            switch (plan.Route)
            {
                case LinearSolveRoute.ParameterSideCholesky:
                {
                    progress?.Report(new EntkProgress("linearization: parameter-side Gram", 0, 1));
                    var structured = ntk.Method is NtkMethod.Auto or NtkMethod.Structured ? model.Structured?.ParameterGram(xt, s) : null;
                    Tensor gram, jtv;
                    Tensor? jac = null;
                    if (structured is not null)
                    {
                        gram = structured;
                        jtv = maps.TransposeProduct(xt, v.reshape(n, c, 2));
                    }
                    else
                    {
                        var parts = EmpiricalNtk.JacobianParts(model, xt, s, ntk, preferStructured: ntk.Method is NtkMethod.Auto or NtkMethod.Structured);
                        jac = (parts.Length == 1 ? parts[0] : torch.cat(parts, 2)).reshape(dim, p);
                        gram = jac.t().mm(jac);
                        jtv = jac.t().mm(v);
                    }
                    gram = (gram + gram.t()) * 0.5;
                    progress?.Report(new EntkProgress("linearization: parameter-side Gram", 1, 1));
                    setup = sw.Elapsed.TotalSeconds;
                    foreach (var lambda in ridges)
                    {
                        using var inner = torch.NewDisposeScope();
                        var clock = Stopwatch.StartNew();
                        var l = Cholesky(Shifted(gram, lambda), lambda, "the P × P matrix J̃ᵀJ̃ + λI");
                        var u = torch.cholesky_solve(jtv, l);                                   // δθ = (G + λI)⁻¹J̃ᵀv
                        var ju = jac is null ? maps.Product(xt, u).reshape(dim, 2) : jac.mm(u);
                        var alpha = (v - ju) / lambda;
                        // True residual with fresh products: K·α = J̃(J̃ᵀα).
                        var jta = jac is null ? maps.TransposeProduct(xt, alpha.reshape(n, c, 2)) : jac.t().mm(alpha);
                        var ka = jac is null ? maps.Product(xt, jta).reshape(dim, 2) : jac.mm(jta);
                        fits.Add(MakeFit(model, ntk, s, xTrain, fxm, lambda, plan.Route, 0, Residual(ka, alpha, v, lambda), alpha, u, ju, clock.Elapsed.TotalSeconds + setup / ridges.Count, plan.Formula));
                    }
                    break;
                }
                case LinearSolveRoute.DenseCholesky:
                {
                    progress?.Report(new EntkProgress("linearization: kernel", 0, 1));
                    var k = TorchOps.ToTensor(EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, xTrain, null, ntk).Matrix);
                    progress?.Report(new EntkProgress("linearization: kernel", 1, 1));
                    setup = sw.Elapsed.TotalSeconds;
                    foreach (var lambda in ridges)
                    {
                        using var inner = torch.NewDisposeScope();
                        var clock = Stopwatch.StartNew();
                        var l = Cholesky(Shifted(k, lambda), lambda, "the N·C × N·C matrix K + λI");
                        var alpha = torch.cholesky_solve(v, l);
                        var ka = k.mm(alpha);
                        var u = maps.TransposeProduct(xt, alpha.reshape(n, c, 2));
                        fits.Add(MakeFit(model, ntk, s, xTrain, fxm, lambda, plan.Route, 0, Residual(ka, alpha, v, lambda), alpha, u, ka, clock.Elapsed.TotalSeconds + setup / ridges.Count, plan.Formula));
                    }
                    break;
                }
                default:
                {
                    var op = EmpiricalNtk.Operator(model, KernelReduction.FlattenSampleMajor, xTrain, ntk.Method == NtkMethod.JacobianContraction ? ntk with { Method = NtkMethod.Auto } : ntk);
                    progress?.Report(new EntkProgress("linearization: Nyström sketch", 0, 1));
                    var pre = NystromPreconditioner.Build(op, plan.PreconditionerRank, o.Seed);
                    progress?.Report(new EntkProgress("linearization: Nyström sketch", 1, 1));
                    setup = sw.Elapsed.TotalSeconds;
                    int maxIt = o.MaxIterations ?? (int)Math.Min(dim, 10_000);
                    foreach (var lambda in ridges)
                    {
                        using var inner = torch.NewDisposeScope();
                        var clock = Stopwatch.StartNew();
                        var cg = ConjugateGradient.Solve(op, lambda, v, pre, o.Tolerance, maxIt, progress);
                        var alpha = cg.Solution;
                        var ka = op.ApplyTensor(alpha);
                        var u = maps.TransposeProduct(xt, alpha.reshape(n, c, 2));
                        fits.Add(MakeFit(model, ntk, s, xTrain, fxm, lambda, plan.Route, cg.Iterations, Residual(ka, alpha, v, lambda), alpha, u, ka,
                            clock.Elapsed.TotalSeconds + setup / ridges.Count, plan.Formula, pre.Rank));
                    }
                    break;
                }
            }
            return fits.AsReadOnly();
        }

        /// <summary>max over the columns of ‖K·α + λα − v‖/‖v‖ (0 for a zero right-hand side).</summary>
        private static double Residual(Tensor ka, Tensor alpha, Tensor v, double lambda)
        {
            var r = (ka + lambda * alpha - v).norm(0, false);
            var b = v.norm(0, false);
            return torch.where(b > 0, r / b.clamp_min(1e-300), torch.zeros_like(r)).max().item<double>();
        }

        private static KernelRegressionFit MakeFit(NtkModel model, NtkOptions ntk, double[] s, Matrix x, Matrix fx, double lambda, LinearSolveRoute route,
            int iterations, double residual, Tensor alpha, Tensor u, Tensor ka, double seconds, string memory, int rank = 0)
        {
            int n = fx.Rows, c = fx.Columns;
            var kPure = TorchOps.ToArray(ka.select(1, 0));
            var kExp = TorchOps.ToArray(ka.select(1, 1));
            var fxs = fx.Span;
            var trainPure = new double[kPure.Length];
            var trainExp = new double[kExp.Length];
            for (int i = 0; i < kPure.Length; i++)
            {
                trainPure[i] = kPure[i];
                trainExp[i] = fxs[i] + kExp[i];
            }
            return new KernelRegressionFit(model, ntk, s, x, fx, lambda, route, iterations, residual, rank, seconds, memory,
                TorchOps.ToArray(alpha.select(1, 0)), TorchOps.ToArray(alpha.select(1, 1)),
                TorchOps.ToArray(u.select(1, 0)), TorchOps.ToArray(u.select(1, 1)),
                Matrix.Wrap(n, c, trainPure), Matrix.Wrap(n, c, trainExp));
        }

        /// <summary>A + λI as a new matrix (no identity matrix is allocated).</summary>
        internal static Tensor Shifted(Tensor a, double lambda)
        {
            var b = a.clone();
            b.diagonal().add_(lambda);
            return b;
        }

        /// <summary>Lower Cholesky factor of a symmetric matrix, or a typed error when it is not numerically positive definite.</summary>
        internal static Tensor Cholesky(Tensor a, double lambda, string what)
        {
            var (l, info) = TorchOps.Native("Cholesky factorisation", () => torch.linalg.cholesky_ex(a));
            int bad = info.item<int>();
            if (bad != 0)
                throw new EntkArgumentException("ridges", Check.Inv($"a ridge large enough for {what} to be numerically positive definite"),
                    Check.Inv($"λ = {Check.R(lambda)} (Cholesky failed at pivot {bad})"));
            return l;
        }

        internal static void ValidateTargets(NtkModel model, int n, Matrix y, string name)
        {
            Check.NotNull(y, name);
            if (y.Rows != n || y.Columns != model.OutputDimension)
                throw new ShapeMismatchException(name, Check.Inv($"[{n}, {model.OutputDimension}] (one row of C targets per training input)"), Check.Shape(y.Rows, y.Columns));
            Check.AllFinite(y.Span, name, y.Columns);
        }

        private static void ValidateOptions(KernelRegressionOptions o, string name)
        {
            if (!Enum.IsDefined(o.Method)) throw new EntkArgumentException(name + ".Method", "a defined LinearSolveMethod", o.Method.ToString());
            if (!(o.Tolerance > 0 && o.Tolerance < 1)) throw new EntkArgumentException(name + ".Tolerance", "a number in (0, 1)", Check.R(o.Tolerance));
            if (o.MaxIterations is int mi && mi <= 0) throw new EntkArgumentException(name + ".MaxIterations", "a positive integer", mi.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (o.PreconditionerRank is int pr && pr < 0) throw new EntkArgumentException(name + ".PreconditionerRank", "a non-negative integer", pr.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        internal sealed class SolvePlan
        {
            public SolvePlan(LinearSolveRoute route, int preconditionerRank, string formula)
            {
                Route = route;
                PreconditionerRank = preconditionerRank;
                Formula = formula;
            }

            public LinearSolveRoute Route { get; }

            public int PreconditionerRank { get; }

            public string Formula { get; }
        }

        /// <summary>Memory of the parameter-side route: the Gram matrix and its factor (5·P² words) plus either the explicit Jacobian or the structured rule's temporaries.</summary>
        internal static long ParameterSideBytes(NtkModel model, long n, NtkOptions ntk)
        {
            long c = model.OutputDimension, p = model.ParameterCount;
            bool structuredGram = ntk.Method is NtkMethod.Auto or NtkMethod.Structured && model is TmsModel;
            long gram = MemoryBudget.Product(8, 5, p, p);
            long vectors = MemoryBudget.Product(8, 16, n, c);
            long jac = structuredGram
                ? MemoryBudget.Product(8, 3, n, c, c)                                     // the TMS rule's (n, N, n) temporaries
                : MemoryBudget.Sum(MemoryBudget.Product(8, 2, n, c, p), MemoryBudget.Product(model.JacobianWorkBytesPerSample, Math.Min(n, EmpiricalNtk.SampleChunk(model, ntk))));
            return MemoryBudget.Sum(gram, vectors, jac);
        }

        /// <summary>Memory of the dense route: the kernel computation's own estimate plus two more N·C × N·C matrices (K + λI, its factor).</summary>
        internal static long DenseBytes(NtkModel model, int n, NtkOptions ntk)
        {
            long dim = (long)n * model.OutputDimension;
            long compute = EmpiricalNtk.EstimateMemory(model, KernelReduction.FlattenSampleMajor, n, null, 0, ntk).Bytes;
            return MemoryBudget.Sum(compute, MemoryBudget.Product(8, 2, dim, dim));
        }

        /// <summary>Memory of the CG route: the Nyström sketch (≈ 4 n × ℓ matrices), ≈ 12 n × 2 vectors, and one sample chunk of autograd work.</summary>
        internal static long CgBytes(NtkModel model, long n, int rank, NtkOptions ntk)
        {
            long dim = n * model.OutputDimension;
            return MemoryBudget.Sum(MemoryBudget.Product(8, 4, dim, rank), MemoryBudget.Product(8, 24, dim),
                MemoryBudget.Product(model.JacobianWorkBytesPerSample, Math.Min(n, EmpiricalNtk.SampleChunk(model, ntk))));
        }

        internal static SolvePlan Plan(NtkModel model, int n, KernelRegressionOptions o, NtkOptions ntk, string optionsName)
        {
            long budget = ntk.Budget;
            long dim = (long)n * model.OutputDimension, p = model.ParameterCount;
            long ps = ParameterSideBytes(model, n, ntk);
            long dense = 0;
            bool denseKnown = true;
            try
            {
                dense = DenseBytes(model, n, ntk);
            }
            catch (EntkArgumentException)
            {
                denseKnown = false;                                          // e.g. Structured requested but not provided for this model
            }
            int rank = o.PreconditionerRank ?? (int)Math.Min(dim, 256);
            if (o.PreconditionerRank is null)
                while (rank > 0 && CgBytes(model, n, rank, ntk) > budget) rank /= 2;
            rank = (int)Math.Min(rank, dim);
            long cg = CgBytes(model, n, rank, ntk);
            string F(string what, long bytes) => what + " " + MemoryBudgetExceededException.FormatBytes(bytes);
            switch (o.Method)
            {
                case LinearSolveMethod.ParameterSide:
                    MemoryBudget.Require(Check.Inv($"the parameter-side solve (Gram {p}², Jacobian or structured rule)"), ps, budget, Alternatives);
                    return new SolvePlan(LinearSolveRoute.ParameterSideCholesky, 0, F("parameter side", ps));
                case LinearSolveMethod.DenseCholesky:
                    if (!denseKnown) DenseBytes(model, n, ntk);                   // rethrows the method error
                    MemoryBudget.Require(Check.Inv($"the dense kernel solve (K {dim}², its Cholesky factor)"), dense, budget, Alternatives);
                    return new SolvePlan(LinearSolveRoute.DenseCholesky, 0, F("dense", dense));
                case LinearSolveMethod.ConjugateGradient:
                    MemoryBudget.Require(Check.Inv($"the conjugate-gradient solve (Nyström rank {rank}, vectors of {dim})"), cg, budget, Alternatives);
                    return new SolvePlan(LinearSolveRoute.ConjugateGradient, rank, F("conjugate gradient", cg));
                default:
                    if (p <= dim && ps <= budget) return new SolvePlan(LinearSolveRoute.ParameterSideCholesky, 0, F("parameter side", ps));
                    if (denseKnown && dense <= budget) return new SolvePlan(LinearSolveRoute.DenseCholesky, 0, F("dense", dense));
                    if (ps <= budget) return new SolvePlan(LinearSolveRoute.ParameterSideCholesky, 0, F("parameter side", ps));
                    MemoryBudget.Require(Check.Inv($"every linear-solve route (parameter side {MemoryBudgetExceededException.FormatBytes(ps)}, dense {(denseKnown ? MemoryBudgetExceededException.FormatBytes(dense) : "n/a")}, conjugate gradient with Nyström rank {rank})"), cg, budget, Alternatives);
                    return new SolvePlan(LinearSolveRoute.ConjugateGradient, rank, F("conjugate gradient", cg));
            }
        }
    }
}
