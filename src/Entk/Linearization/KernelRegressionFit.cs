using System;
using System.Collections.Generic;
using Entk.Internal;
using Entk.Kernels;
using Entk.Models;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Linearization
{
    /// <summary>
    /// A fitted eNTK kernel regression for one absolute ridge λ (both <see cref="LinearizationVariant"/>s), from
    /// <see cref="KernelRegression.Fit"/>. Immutable; every accessor returns a copy. Sample-major flattening
    /// throughout: entry r = n·C + c of a flattened vector belongs to sample n, output c.
    /// </summary>
    public sealed class KernelRegressionFit
    {
        private readonly NtkModel _model;
        private readonly NtkOptions _ntk;
        private readonly double[] _scales;
        private readonly double[] _alphaPure, _alphaExpand, _thetaPure, _thetaExpand;
        private readonly Matrix _trainPure, _trainExpand;

        internal KernelRegressionFit(NtkModel model, NtkOptions ntk, double[] scales, Matrix xTrain, Matrix modelTrain, double ridge, LinearSolveRoute route,
            int iterations, double residual, int rank, double seconds, string memory,
            double[] alphaPure, double[] alphaExpand, double[] thetaPure, double[] thetaExpand, Matrix trainPure, Matrix trainExpand)
        {
            _model = model;
            _ntk = ntk;
            _scales = scales;
            TrainInputs = xTrain;
            ModelTrainOutputs = modelTrain;
            Ridge = ridge;
            Route = route;
            Iterations = iterations;
            RelativeResidual = residual;
            PreconditionerRank = rank;
            Seconds = seconds;
            MemoryEstimate = memory;
            _alphaPure = alphaPure;
            _alphaExpand = alphaExpand;
            _thetaPure = thetaPure;
            _thetaExpand = thetaExpand;
            _trainPure = trainPure;
            _trainExpand = trainExpand;
        }

        /// <summary>The absolute ridge λ (the system is K(X, X) + λI).</summary>
        public double Ridge { get; }

        /// <summary>The route the solve took.</summary>
        public LinearSolveRoute Route { get; }

        /// <summary>Conjugate-gradient iterations (0 for the Cholesky routes).</summary>
        public int Iterations { get; }

        /// <summary>
        /// max over both right-hand sides v ∈ {Y, Y − f(X)} of the true relative residual ‖(K + λI)α − v‖/‖v‖, with K·α
        /// recomputed by fresh products (J̃(J̃ᵀα), the explicit kernel, or the operator) for every route.
        /// </summary>
        public double RelativeResidual { get; }

        /// <summary>Rank ℓ of the Nyström preconditioner (conjugate gradient; 0 otherwise).</summary>
        public int PreconditionerRank { get; }

        /// <summary>Wall seconds of this ridge's solve plus an equal share of the shared set-up (Gram matrix, kernel or sketch).</summary>
        public double Seconds { get; }

        /// <summary>The memory estimate of the route that ran (checked against the budget before anything was allocated).</summary>
        public string MemoryEstimate { get; }

        /// <summary>Training inputs X (N × D).</summary>
        public Matrix TrainInputs { get; }

        /// <summary>Model outputs f(X) (N × C).</summary>
        public Matrix ModelTrainOutputs { get; }

        /// <summary>N, the number of training samples.</summary>
        public int TrainSamples => TrainInputs.Rows;

        /// <summary>C, the number of model outputs.</summary>
        public int Outputs => ModelTrainOutputs.Columns;

        /// <summary>The model the kernel belongs to.</summary>
        public NtkModel Model => _model;

        /// <summary>
        /// The dual coefficients α = (K(X, X) + λI)⁻¹·v as an N × C matrix (element [n, c] = α_{n·C + c}), with v = Y
        /// (<see cref="LinearizationVariant.PureNtk"/>) or v = Y − f(X) (<see cref="LinearizationVariant.ExpandAroundModel"/>).
        /// </summary>
        /// <param name="variant">The variant.</param>
        /// <returns>A new N × C matrix.</returns>
        public Matrix Coefficients(LinearizationVariant variant) =>
            Matrix.FromArray(TrainSamples, Outputs, Pick(variant, _alphaPure, _alphaExpand));

        /// <summary>
        /// The parameter displacement δθ = J̃(X)ᵀα (length P, layout order): K(x, X)α = J̃(x)·δθ, so "expand" is the network
        /// linearised at θ and evaluated at θ + δθ, and δθ = (J̃ᵀJ̃ + λI)⁻¹J̃ᵀv is the ridge-regularised least-squares step.
        /// </summary>
        /// <param name="variant">The variant.</param>
        /// <returns>A new array of length P.</returns>
        public double[] ParameterDisplacement(LinearizationVariant variant) => (double[])Pick(variant, _thetaPure, _thetaExpand).Clone();

        /// <summary>f_lin(X) on the training inputs (N × C): f(X) + K·α ("expand") or K·α ("pure").</summary>
        /// <param name="variant">The variant.</param>
        /// <returns>The predictions (immutable matrix).</returns>
        public Matrix TrainPredictions(LinearizationVariant variant) => variant switch
        {
            LinearizationVariant.PureNtk => _trainPure,
            LinearizationVariant.ExpandAroundModel => _trainExpand,
            _ => throw new EntkArgumentException(nameof(variant), "a defined LinearizationVariant", variant.ToString()),
        };

        /// <summary>
        /// f_lin(x) for new inputs (M × D ↦ M × C): f(x) + K(x, X)α ("expand") or K(x, X)α ("pure"), computed as
        /// J̃(x)·δθ (structured product or one JVP), so the M·C × N·C cross kernel is never formed.
        /// </summary>
        /// <param name="x">Inputs, M × D (M ≥ 1), finite.</param>
        /// <param name="variant">The variant.</param>
        /// <returns>The predictions, M × C.</returns>
        /// <exception cref="ShapeMismatchException">x has the wrong width.</exception>
        /// <exception cref="NonFiniteValueException">x holds NaN or ±∞.</exception>
        public Matrix Predict(Matrix x, LinearizationVariant variant)
        {
            _model.ValidateInputs(x, nameof(x));
            var theta = Pick(variant, _thetaPure, _thetaExpand);
            using var scope = torch.NewDisposeScope();
            var xt = TorchOps.ToTensor(x);
            var maps = new TangentMaps(_model, _scales, _ntk);
            var jd = maps.Product(xt, TorchOps.ToTensor(theta, theta.Length, 1)).squeeze(2);   // (M, C)
            if (variant == LinearizationVariant.ExpandAroundModel)
            {
                using var noGrad = torch.no_grad();
                jd = jd + _model.EvaluateTensor(xt).to(ScalarType.Float64);
            }
            return TorchOps.ToMatrix(jd);
        }

        private static double[] Pick(LinearizationVariant variant, double[] pure, double[] expand) => variant switch
        {
            LinearizationVariant.PureNtk => pure,
            LinearizationVariant.ExpandAroundModel => expand,
            _ => throw new EntkArgumentException(nameof(variant), "a defined LinearizationVariant", variant.ToString()),
        };

        /// <inheritdoc />
        public override string ToString() => Check.Inv($"kernel regression λ = {Check.R(Ridge)} on {TrainSamples} samples × {Outputs} outputs ({Route}, relative residual {RelativeResidual:E2})");
    }
}
