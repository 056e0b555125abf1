using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using Entk.Kernels;
using Entk.Models;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Linearization
{
    /// <summary>Which eigendecomposition a <see cref="GradientDescentMsePredictor"/> uses.</summary>
    public enum DynamicsRoute
    {
        /// <summary>The P × P Gram matrix J̃ᵀJ̃ (the N·C × N·C kernel was never formed).</summary>
        ParameterSide,

        /// <summary>The explicit N·C × N·C kernel.</summary>
        DenseKernel,
    }

    /// <summary>
    /// Closed-form gradient-descent dynamics of the network linearised at its current parameters θ₀, trained on the mean
    /// squared error (neural-tangents' <c>predict.gradient_descent_mse</c>, Lee et al. 2019). Conventions:
    /// <list type="bullet">
    /// <item>Loss L(θ) = (1/(2·N·C)) Σ_{n,c} (f_c(x_n; θ) − Y_nc)², the neural-tangents normalisation (the mean over the N·C
    /// entries, with a factor ½). Gradient descent θ ← θ − η∇L is followed in continuous time; t counts steps, so the
    /// absolute time is η·t and the prediction at t approximates t discrete steps when η·λ_max(K)/(N·C) ≪ 1.</item>
    /// <item>K = K(X, X) is the flattened eNTK in sample-major order (row n·C + c), optionally importance-rescaled;
    /// ρ is an absolute ridge (K + ρI); c = η/(N·C); r₀ = Y − f₀(X).</item>
    /// <item>Train points: f_t(X) = Y − exp(−c·t·(K + ρI))·r₀. Test points: f_t(x) = f₀(x) + K(x, X)(K + ρI)⁻¹(I − exp(−c·t·(K + ρI)))·r₀,
    /// computed as f₀(x) + J̃(x)·δθ(t) with δθ(t) = J̃(X)ᵀ(K + ρI)⁻¹(I − exp(−c·t·(K + ρI)))r₀ (the linearised model's parameter displacement).</item>
    /// <item>t = +∞ (<see cref="double.PositiveInfinity"/>): with ρ &gt; 0 the train points reach Y and test points get the
    /// "expand around model" kernel regression with ridge ρ; with ρ = 0, eigen-directions of K with (numerically) zero
    /// eigenvalue never move, i.e. (K + ρI)⁻¹ becomes the pseudo-inverse.</item>
    /// </list>
    /// </summary>
    public sealed class GradientDescentMsePredictor
    {
        private readonly NtkModel _model;
        private readonly NtkOptions _ntk;
        private readonly double[] _s;
        private readonly Matrix _x;
        private readonly double[] _y, _r0, _eig;
        private readonly Matrix _basis;                // W (P × P) or V (N·C × N·C), columns = eigenvectors, ascending
        private readonly double[] _coords;             // Wᵀ J̃ᵀ r₀ (P) or Vᵀ r₀ (N·C)
        private readonly double _zero;

        internal GradientDescentMsePredictor(NtkModel model, NtkOptions ntk, double[] s, Matrix x, double[] y, double[] r0, double[] eig, Matrix basis, double[] coords,
            DynamicsRoute route, double learningRate, double ridge)
        {
            _model = model;
            _ntk = ntk;
            _s = s;
            _x = x;
            _y = y;
            _r0 = r0;
            _eig = eig;
            _basis = basis;
            _coords = coords;
            Route = route;
            LearningRate = learningRate;
            Ridge = ridge;
            double max = eig.Length == 0 ? 0 : Math.Max(0, eig.Max());
            _zero = 64 * 2.220446049250313e-16 * eig.Length * max;
        }

        /// <summary>Which eigendecomposition was used.</summary>
        public DynamicsRoute Route { get; }

        /// <summary>η.</summary>
        public double LearningRate { get; }

        /// <summary>ρ (absolute).</summary>
        public double Ridge { get; }

        /// <summary>N.</summary>
        public int TrainSamples => _x.Rows;

        /// <summary>C.</summary>
        public int Outputs => _model.OutputDimension;

        /// <summary>
        /// Eigenvalues of K(X, X) (without ρ), descending: all N·C of them (<see cref="DynamicsRoute.DenseKernel"/>) or the P
        /// eigenvalues of J̃ᵀJ̃, which are K's eigenvalues apart from its N·C − P zeros (<see cref="DynamicsRoute.ParameterSide"/>).
        /// </summary>
        public IReadOnlyList<double> Eigenvalues => _eig.Reverse().ToArray();

        /// <summary>f_t(X) on the training inputs (N × C).</summary>
        /// <param name="t">Time in steps, t ≥ 0 or +∞.</param>
        /// <returns>The predictions.</returns>
        /// <exception cref="EntkArgumentException">t is negative or NaN.</exception>
        public Matrix PredictTrain(double t)
        {
            CheckTime(t, nameof(t));
            int n = _x.Rows, c = Outputs;
            long dim = (long)n * c;
            using var scope = torch.NewDisposeScope();
            var y = TorchOps.ToTensor(_y, dim);
            var r0 = TorchOps.ToTensor(_r0, dim);
            var basis = TorchOps.ToTensor(_basis);
            var coords = TorchOps.ToTensor(_coords, _coords.Length);
            Tensor ft;
            if (Route == DynamicsRoute.DenseKernel)
            {
                // f_t = Y − V e^{−ct(Λ+ρ)} Vᵀ r₀
                var decay = TorchOps.ToTensor(_eig.Select(l => Decay(t, Math.Max(l, 0) + Ridge, l)).ToArray(), _eig.Length);
                ft = y - basis.mv(decay * coords);
            }
            else
            {
                // f_t = Y − e^{−ctρ}(r₀ − J̃ W φ⁰_t(Λ) h), φ⁰ the ρ = 0 response (K's null space keeps its residual)
                var phi = TorchOps.ToTensor(_eig.Select(l => Phi(t, l, 0.0)).ToArray(), _eig.Length);
                var dtheta = basis.mv(phi * coords);
                var maps = new TangentMaps(_model, _s, _ntk);
                var jd = maps.Product(TorchOps.ToTensor(_x), dtheta.unsqueeze(1)).reshape(dim);
                double outer = Ridge == 0 ? 1.0 : double.IsPositiveInfinity(t) ? 0.0 : Math.Exp(-Scale * t * Ridge);
                ft = y - outer * (r0 - jd);
            }
            return TorchOps.ToMatrix(ft.reshape(n, c));
        }

        /// <summary>
        /// δθ(t) = J̃(X)ᵀ(K + ρI)⁻¹(I − e^{−ct(K+ρI)})r₀ (length P, layout order): test predictions are f₀(x) + J̃(x)·δθ(t).
        /// </summary>
        /// <param name="t">Time in steps, t ≥ 0 or +∞.</param>
        /// <returns>A new array of length P.</returns>
        public double[] ParameterDisplacement(double t)
        {
            CheckTime(t, nameof(t));
            using var scope = torch.NewDisposeScope();
            return TorchOps.ToArray(Displacements(new[] { t }).select(1, 0));
        }

        /// <summary>f_t(x) for new inputs (M × D ↦ M × C).</summary>
        /// <param name="x">Inputs, M × D.</param>
        /// <param name="t">Time in steps, t ≥ 0 or +∞.</param>
        /// <returns>The predictions.</returns>
        public Matrix Predict(Matrix x, double t) => Predict(x, new[] { t })[0];

        /// <summary>f_t(x) for new inputs at several times (one J̃(x) product for all of them).</summary>
        /// <param name="x">Inputs, M × D.</param>
        /// <param name="times">Times in steps, each ≥ 0 or +∞.</param>
        /// <returns>One M × C matrix per time.</returns>
        /// <exception cref="ShapeMismatchException">x has the wrong width.</exception>
        /// <exception cref="EntkArgumentException">A time is negative or NaN, or no times.</exception>
        public IReadOnlyList<Matrix> Predict(Matrix x, IReadOnlyList<double> times)
        {
            _model.ValidateInputs(x, nameof(x));
            Check.NotNull(times, nameof(times));
            if (times.Count == 0) throw new EntkArgumentException(nameof(times), "at least one time", "none");
            foreach (var t in times) CheckTime(t, nameof(times));
            using var scope = torch.NewDisposeScope();
            var xt = TorchOps.ToTensor(x);
            var d = Displacements(times);                                                  // (P, T)
            var maps = new TangentMaps(_model, _s, _ntk);
            var jd = maps.Product(xt, d);                                                  // (M, C, T)
            Tensor f0;
            using (torch.no_grad()) f0 = _model.EvaluateTensor(xt).to(ScalarType.Float64);
            return Enumerable.Range(0, times.Count).Select(i => TorchOps.ToMatrix(f0 + jd.select(2, i))).ToArray();
        }

        /// <summary>The training loss L(t) = (1/(2·N·C))‖f_t(X) − Y‖² of the linearised model.</summary>
        /// <param name="t">Time in steps, t ≥ 0 or +∞.</param>
        /// <returns>The loss.</returns>
        public double TrainLoss(double t)
        {
            var f = PredictTrain(t).Span;
            double s = 0;
            for (int i = 0; i < f.Length; i++) s += (f[i] - _y[i]) * (f[i] - _y[i]);
            return s / (2.0 * f.Length);
        }

        private double Scale => LearningRate / ((double)_x.Rows * Outputs);

        /// <summary>(P, T) displacements, owned by the caller's scope.</summary>
        private Tensor Displacements(IReadOnlyList<double> times)
        {
            var basis = TorchOps.ToTensor(_basis);
            var coords = TorchOps.ToTensor(_coords, _coords.Length);
            var cols = new Tensor[times.Count];
            for (int i = 0; i < cols.Length; i++)
            {
                double t = times[i];
                var phi = TorchOps.ToTensor(_eig.Select(l => Phi(t, l, Ridge)).ToArray(), _eig.Length);
                cols[i] = basis.mv(phi * coords);
            }
            var w = torch.stack(cols, 1);
            if (Route == DynamicsRoute.ParameterSide) return w;                           // W φ h is already δθ
            int n = _x.Rows, c = Outputs;
            var maps = new TangentMaps(_model, _s, _ntk);
            return maps.TransposeProduct(TorchOps.ToTensor(_x), w.reshape(n, c, times.Count));
        }

        /// <summary>φ_t(μ) = (1 − e^{−c·t·μ})/μ with μ = max(λ, 0) + ρ; 0 for a (numerically) zero mode when ρ = 0.</summary>
        private double Phi(double t, double lambda, double rho)
        {
            double mu = Math.Max(lambda, 0) + rho;
            if (rho == 0 && lambda <= _zero) return 0;
            if (double.IsPositiveInfinity(t)) return 1.0 / mu;
            return -Expm1(-Scale * t * mu) / mu;
        }

        /// <summary>e^{−c·t·μ}; at t = ∞, 0 unless the mode is (numerically) zero and ρ = 0.</summary>
        private double Decay(double t, double mu, double lambda)
        {
            if (Ridge == 0 && lambda <= _zero) return 1.0;
            if (double.IsPositiveInfinity(t)) return 0.0;
            return Math.Exp(-Scale * t * mu);
        }

        /// <summary>e^x − 1 without cancellation for small |x| (e^x − 1 = 2·tanh(x/2)/(1 − tanh(x/2))).</summary>
        internal static double Expm1(double x)
        {
            if (Math.Abs(x) >= 0.5) return Math.Exp(x) - 1;
            double u = Math.Tanh(x / 2);
            return 2 * u / (1 - u);
        }

        private static void CheckTime(double t, string name)
        {
            if (double.IsNaN(t) || t < 0) throw new EntkArgumentException(name, "times t ≥ 0 (or +∞)", Check.R(t));
        }
    }

    /// <summary>
    /// Builds <see cref="GradientDescentMsePredictor"/>s: the closed-form gradient-descent (gradient-flow) dynamics of the
    /// linearised network on the MSE, at any time and at t = ∞, for train and test points, from one eigendecomposition
    /// of K(X, X) (or of J̃ᵀJ̃ when P ≤ N·C).
    /// </summary>
    /// <example>
    /// C#: <c>var gd = GradientDescentMse.Create(net, x, y, new GradientDescentMseOptions { LearningRate = 0.5 }); var f100 = gd.Predict(xTest, 100);</c>
    /// </example>
    public static class GradientDescentMse
    {
        /// <summary>Diagonalises K(X, X) and returns the predictor (see <see cref="GradientDescentMsePredictor"/> for the formulas).</summary>
        /// <param name="model">The model at θ₀.</param>
        /// <param name="xTrain">Training inputs X (N × D).</param>
        /// <param name="yTrain">Targets Y (N × C).</param>
        /// <param name="options">Options (η, ρ, route, eNTK options).</param>
        /// <returns>The predictor.</returns>
        /// <exception cref="ShapeMismatchException">Inputs or targets of the wrong shape.</exception>
        /// <exception cref="EntkArgumentException">η ≤ 0, ρ &lt; 0, non-finite settings, or bad eNTK options.</exception>
        /// <exception cref="MemoryBudgetExceededException">Neither eigendecomposition fits the memory budget.</exception>
        public static GradientDescentMsePredictor Create(NtkModel model, Matrix xTrain, Matrix yTrain, GradientDescentMseOptions? options = null)
        {
            Check.NotNull(model, nameof(model));
            var o = options ?? new GradientDescentMseOptions();
            var ntk = o.Ntk ?? new NtkOptions();
            model.ValidateInputs(xTrain, nameof(xTrain));
            KernelRegression.ValidateTargets(model, xTrain.Rows, yTrain, nameof(yTrain));
            Check.PositiveFinite(o.LearningRate, nameof(options) + ".LearningRate");
            Check.InRange(o.Ridge, 0, double.MaxValue, nameof(options) + ".Ridge");
            if (!Enum.IsDefined(o.Method)) throw new EntkArgumentException(nameof(options) + ".Method", "a defined DynamicsMethod", o.Method.ToString());
            var s = ntk.OutputScales(model.OutputDimension);
            int n = xTrain.Rows, c = model.OutputDimension, p = model.ParameterCount;
            long dim = (long)n * c;
            if (dim > int.MaxValue) throw new EntkArgumentException(nameof(xTrain), "N·C < 2³¹", Check.Inv($"N·C = {dim}"));
            long budget = ntk.Budget;
            long ps = MemoryBudget.Sum(KernelRegression.ParameterSideBytes(model, n, ntk), MemoryBudget.Product(8, 3, p, p));
            long dense = MemoryBudget.Sum(KernelRegression.DenseBytes(model, n, ntk), MemoryBudget.Product(8, 3, dim, dim));
            const string alternatives = "Alternatives: fewer training samples, DynamicsMethod.ParameterSide when P is small, or a larger NtkOptions.MemoryBudgetBytes.";
            DynamicsRoute route = o.Method switch
            {
                DynamicsMethod.ParameterSide => DynamicsRoute.ParameterSide,
                DynamicsMethod.DenseKernel => DynamicsRoute.DenseKernel,
                _ => p <= dim && ps <= budget ? DynamicsRoute.ParameterSide : dense <= budget ? DynamicsRoute.DenseKernel : p <= dim ? DynamicsRoute.ParameterSide : DynamicsRoute.DenseKernel,
            };
            if (route == DynamicsRoute.ParameterSide)
                MemoryBudget.Require(Check.Inv($"the parameter-side eigendecomposition (Gram {p}², Jacobian or structured rule)"), ps, budget, alternatives);
            else
                MemoryBudget.Require(Check.Inv($"the dense eigendecomposition of the {dim} × {dim} kernel"), dense, budget, alternatives);

            using var scope = torch.NewDisposeScope();
            var xt = TorchOps.ToTensor(xTrain);
            Tensor f0;
            using (torch.no_grad()) f0 = model.EvaluateTensor(xt).to(ScalarType.Float64).reshape(dim);
            var y = TorchOps.ToTensor(yTrain).reshape(dim);
            var r0 = y - f0;
            var maps = new TangentMaps(model, s, ntk);
            Tensor vals, vecs, coords;
            ntk.Progress?.Report(new EntkProgress("gradient-descent dynamics: eigendecomposition", 0, 1));
            if (route == DynamicsRoute.ParameterSide)
            {
                var gram = ntk.Method is NtkMethod.Auto or NtkMethod.Structured ? model.Structured?.ParameterGram(xt, s) : null;
                Tensor g;
                if (gram is null)
                {
                    var parts = EmpiricalNtk.JacobianParts(model, xt, s, ntk, preferStructured: ntk.Method is NtkMethod.Auto or NtkMethod.Structured);
                    var jac = (parts.Length == 1 ? parts[0] : torch.cat(parts, 2)).reshape(dim, p);
                    gram = jac.t().mm(jac);
                    g = jac.t().mv(r0);
                }
                else
                {
                    g = maps.TransposeProduct(xt, r0.reshape(n, c, 1)).squeeze(1);
                }
                gram = (gram + gram.t()) * 0.5;
                (vals, vecs) = TorchOps.Native("symmetric eigendecomposition (eigh)", () => torch.linalg.eigh(gram));
                coords = vecs.t().mv(g);
            }
            else
            {
                var k = TorchOps.ToTensor(EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, xTrain, null, ntk).Matrix);
                k = (k + k.t()) * 0.5;
                (vals, vecs) = TorchOps.Native("symmetric eigendecomposition (eigh)", () => torch.linalg.eigh(k));
                coords = vecs.t().mv(r0);
            }
            ntk.Progress?.Report(new EntkProgress("gradient-descent dynamics: eigendecomposition", 1, 1));
            return new GradientDescentMsePredictor(model, ntk, s, xTrain, TorchOps.ToArray(y), TorchOps.ToArray(r0), TorchOps.ToArray(vals), TorchOps.ToMatrix(vecs),
                TorchOps.ToArray(coords), route, o.LearningRate, o.Ridge);
        }
    }
}
