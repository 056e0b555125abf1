using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Entk.Internal;
using Entk.Models;

namespace Entk.Linearization
{
    /// <summary>One (ridge, variant) entry of a <see cref="LinearizationReport"/>.</summary>
    public sealed class LinearizationResult
    {
        internal LinearizationResult(double ridge, LinearizationVariant variant, LinearizationScore score, LinearizationScore trainScore, Matrix predictions, KernelRegressionFit fit)
        {
            Ridge = ridge;
            Variant = variant;
            Score = score;
            TrainScore = trainScore;
            Predictions = predictions;
            Fit = fit;
        }

        /// <summary>The absolute ridge λ.</summary>
        public double Ridge { get; }

        /// <summary>The predictor.</summary>
        public LinearizationVariant Variant { get; }

        /// <summary>The metrics on the evaluation set (f_lin and f on the evaluation inputs against the evaluation targets).</summary>
        public LinearizationScore Score { get; }

        /// <summary>The metrics on the training set itself (the protocol of the author's notebook, which fits and evaluates on the same points).</summary>
        public LinearizationScore TrainScore { get; }

        /// <summary>f_lin on the evaluation inputs (M × C).</summary>
        public Matrix Predictions { get; }

        /// <summary>The fit (route, iterations, residual, coefficients).</summary>
        public KernelRegressionFit Fit { get; }

        /// <summary>"expand" or "pure" (the names used in files).</summary>
        public string VariantName => LinearizationCheck.VariantName(Variant);
    }

    /// <summary>The linearisation check of a model: one entry per ridge and variant.</summary>
    public sealed class LinearizationReport
    {
        private readonly LinearizationResult[] _results;

        internal LinearizationReport(int trainSamples, int evaluationSamples, double seconds, Matrix modelOutputs, LinearizationResult[] results)
        {
            TrainSamples = trainSamples;
            EvaluationSamples = evaluationSamples;
            Seconds = seconds;
            ModelOutputs = modelOutputs;
            _results = results;
        }

        /// <summary>N, the number of training samples the kernel regression was fitted on.</summary>
        public int TrainSamples { get; }

        /// <summary>M, the number of evaluation samples.</summary>
        public int EvaluationSamples { get; }

        /// <summary>Wall seconds of the whole check (solves, predictions, metrics).</summary>
        public double Seconds { get; }

        /// <summary>f on the evaluation inputs (M × C).</summary>
        public Matrix ModelOutputs { get; }

        /// <summary>The entries, ridge-major in the order of the given ridges, "expand" before "pure".</summary>
        public IReadOnlyList<LinearizationResult> Results => Array.AsReadOnly(_results);

        /// <summary>The entry for one ridge (exact match) and variant.</summary>
        /// <param name="ridge">λ.</param>
        /// <param name="variant">The variant.</param>
        /// <returns>The entry.</returns>
        /// <exception cref="EntkArgumentException">No such entry.</exception>
        public LinearizationResult Result(double ridge, LinearizationVariant variant) =>
            _results.FirstOrDefault(r => r.Ridge == ridge && r.Variant == variant)
            ?? throw new EntkArgumentException(nameof(ridge), "one of the ridges {" + string.Join(", ", _results.Select(r => Check.R(r.Ridge)).Distinct()) + "}", Check.R(ridge));
    }

    /// <summary>
    /// The linearisation sanity check of docs/paper-notes.md §1.9 for any model: fit both kernel-regression variants on
    /// (X, Y) for each ridge (<see cref="KernelRegression.FitMany"/>), predict on evaluation inputs and score with
    /// <see cref="LinearizationMetrics"/>; the training-set scores (the author's protocol) come along.
    /// </summary>
    public static class LinearizationCheck
    {
        /// <summary>Runs the check.</summary>
        /// <param name="model">The model.</param>
        /// <param name="xTrain">Training inputs X (N × D).</param>
        /// <param name="yTrain">Training targets Y (N × C).</param>
        /// <param name="xEval">Evaluation inputs (M × D).</param>
        /// <param name="yEval">Evaluation targets (M × C).</param>
        /// <param name="ridges">Absolute ridges λ &gt; 0.</param>
        /// <param name="options">Kernel-regression options.</param>
        /// <returns>The report.</returns>
        /// <exception cref="ShapeMismatchException">Inputs or targets of the wrong shape.</exception>
        /// <exception cref="EntkArgumentException">Bad ridges or options (see <see cref="KernelRegression.FitMany"/>).</exception>
        /// <exception cref="MemoryBudgetExceededException">No route fits the memory budget.</exception>
        public static LinearizationReport Run(NtkModel model, Matrix xTrain, Matrix yTrain, Matrix xEval, Matrix yEval, IReadOnlyList<double> ridges, KernelRegressionOptions? options = null)
        {
            Check.NotNull(model, nameof(model));
            model.ValidateInputs(xEval, nameof(xEval));
            KernelRegression.ValidateTargets(model, xEval.Rows, yEval, nameof(yEval));
            var sw = Stopwatch.StartNew();
            var fits = KernelRegression.FitMany(model, xTrain, yTrain, ridges, options);
            var fEval = model.Evaluate(xEval);
            var results = new List<LinearizationResult>();
            foreach (var fit in fits)
                foreach (var variant in new[] { LinearizationVariant.ExpandAroundModel, LinearizationVariant.PureNtk })
                {
                    var pred = fit.Predict(xEval, variant);
                    results.Add(new LinearizationResult(fit.Ridge, variant, LinearizationMetrics.Score(pred, fEval, yEval),
                        LinearizationMetrics.Score(fit.TrainPredictions(variant), fit.ModelTrainOutputs, yTrain), pred, fit));
                }
            return new LinearizationReport(xTrain.Rows, xEval.Rows, sw.Elapsed.TotalSeconds, fEval, results.ToArray());
        }

        /// <summary>The file name of a variant: "expand" or "pure".</summary>
        /// <param name="variant">The variant.</param>
        /// <returns>The name.</returns>
        public static string VariantName(LinearizationVariant variant) => variant switch
        {
            LinearizationVariant.ExpandAroundModel => "expand",
            LinearizationVariant.PureNtk => "pure",
            _ => throw new EntkArgumentException(nameof(variant), "a defined LinearizationVariant", variant.ToString()),
        };
    }
}
