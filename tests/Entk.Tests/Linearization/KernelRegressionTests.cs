using System;
using System.Linq;
using Entk.Kernels;
using Entk.Linearization;
using Entk.Models;
using Entk.Training;
using NUnit.Framework;
using MN = MathNet.Numerics.LinearAlgebra;

namespace Entk.Tests.Linearization
{
    /// <summary>Explicit dense references: K, K(x, X) and J from Jacobian contraction, solves by MathNet's LU (independent of libtorch).</summary>
    internal static class DenseReference
    {
        public static MN.Matrix<double> ToMathNet(Matrix m) => MN.Matrix<double>.Build.Dense(m.Rows, m.Columns, (i, j) => m[i, j]);

        public static MN.Vector<double> Flatten(Matrix m) => MN.Vector<double>.Build.Dense(m.Rows * m.Columns, i => m[i / m.Columns, i % m.Columns]);

        public static Matrix Unflatten(MN.Vector<double> v, int rows, int cols) => Matrix.FromArray(rows, cols, v.ToArray());

        public static NtkOptions Exact(NtkOptions? o) => (o ?? new NtkOptions()) with { Method = NtkMethod.JacobianContraction };

        /// <summary>α = (K + λI)⁻¹v for v = Y (pure) and Y − f(X) (expand), and predictions at xTest.</summary>
        public static (MN.Vector<double> alphaPure, MN.Vector<double> alphaExpand, Matrix predPure, Matrix predExpand, Matrix trainPure, Matrix trainExpand)
            Solve(NtkModel model, Matrix x, Matrix y, Matrix xTest, double lambda, NtkOptions? ntk)
        {
            var k = ToMathNet(EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, x, options: Exact(ntk)).Matrix);
            var kx = ToMathNet(EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, xTest, x, Exact(ntk)).Matrix);
            var a = k + lambda * MN.Matrix<double>.Build.DenseIdentity(k.RowCount);
            var lu = a.LU();
            var fx = Flatten(model.Evaluate(x));
            var yv = Flatten(y);
            var ap = lu.Solve(yv);
            var ae = lu.Solve(yv - fx);
            int c = model.OutputDimension;
            var ft = Flatten(model.Evaluate(xTest));
            return (ap, ae, Unflatten(kx * ap, xTest.Rows, c), Unflatten(ft + kx * ae, xTest.Rows, c), Unflatten(k * ap, x.Rows, c), Unflatten(fx + k * ae, x.Rows, c));
        }
    }

    [TestFixture]
    public class KernelRegressionTests
    {
        private static (string name, NtkModel model, Matrix x, Matrix y, Matrix xTest, NtkOptions? ntk, double ridge)[] Cases()
        {
            var setup = TmsSetup.Create(new TmsConfig { Features = 8, Hidden = 3, Samples = 12, Sparsity = 0.4, LearningRate = 1e-2 }, 2);
            var tms = TmsTraining.Train(setup, new TmsTrainingOptions { Steps = 150 }).Model;
            var tmsTest = TmsSetup.Create(new TmsConfig { Features = 8, Hidden = 3, Samples = 5, Sparsity = 0.4 }, 9).Inputs;
            var imp = Enumerable.Range(0, 8).Select(i => Math.Pow(0.8, i)).ToArray();
            return new (string, NtkModel, Matrix, Matrix, Matrix, NtkOptions?, double)[]
            {
                // P = 83 > N·C = 28: the parameter-side Gram is rank-deficient (only λ makes it invertible).
                ("dense tanh", DenseNetwork.CreateRandom(new[] { 3, 6, 5, 4 }, Activation.Tanh, 1), TestUtil.RandomMatrix(7, 3, 2), TestUtil.RandomMatrix(7, 4, 3), TestUtil.RandomMatrix(4, 3, 4), null, 1e-2),
                ("dense relu no bias", DenseNetwork.CreateRandom(new[] { 2, 9, 3 }, Activation.Relu, 3, bias: false), TestUtil.RandomMatrix(10, 2, 4), TestUtil.RandomMatrix(10, 3, 5), TestUtil.RandomMatrix(3, 2, 6), null, 3e-2),
                // P = 32 < N·C = 96, rotation-symmetry null directions in J̃ᵀJ̃; targets = inputs (autoencoder).
                ("tms", tms, setup.Inputs, setup.Inputs, tmsTest, null, 1e-3),
                ("tms β = 1", tms, setup.Inputs, setup.Inputs, tmsTest, new NtkOptions { Importance = imp, Beta = 1 }, 1e-3),
                ("linear model", LinearModel.CreateRandom(4, 3, 5), TestUtil.RandomMatrix(5, 4, 6), TestUtil.RandomMatrix(5, 3, 7), TestUtil.RandomMatrix(2, 4, 8), null, 1e-1),
            };
        }

        [Test]
        public void EveryRoute_MatchesExplicitDenseSolve([Values(LinearSolveMethod.ParameterSide, LinearSolveMethod.DenseCholesky, LinearSolveMethod.ConjugateGradient)] LinearSolveMethod method)
        {
            foreach (var (name, model, x, y, xTest, ntk, ridge) in Cases())
            {
                var fit = KernelRegression.Fit(model, x, y, ridge, new KernelRegressionOptions { Method = method, Ntk = ntk, Tolerance = 1e-13 });
                var reference = DenseReference.Solve(model, x, y, xTest, ridge, ntk);
                string what = name + " " + method;
                var expectedRoute = method switch
                {
                    LinearSolveMethod.ParameterSide => LinearSolveRoute.ParameterSideCholesky,
                    LinearSolveMethod.DenseCholesky => LinearSolveRoute.DenseCholesky,
                    _ => LinearSolveRoute.ConjugateGradient,
                };
                Assert.That(fit.Route, Is.EqualTo(expectedRoute), what);
                Assert.That(fit.RelativeResidual, Is.LessThan(1e-11), what + " residual");
                int c = model.OutputDimension;
                TestUtil.AssertClose(fit.Coefficients(LinearizationVariant.PureNtk), DenseReference.Unflatten(reference.alphaPure, x.Rows, c), 1e-10, what + " α pure");
                TestUtil.AssertClose(fit.Coefficients(LinearizationVariant.ExpandAroundModel), DenseReference.Unflatten(reference.alphaExpand, x.Rows, c), 1e-10, what + " α expand");
                TestUtil.AssertClose(fit.Predict(xTest, LinearizationVariant.PureNtk), reference.predPure, 1e-10, what + " test pure");
                TestUtil.AssertClose(fit.Predict(xTest, LinearizationVariant.ExpandAroundModel), reference.predExpand, 1e-10, what + " test expand");
                TestUtil.AssertClose(fit.TrainPredictions(LinearizationVariant.PureNtk), reference.trainPure, 1e-10, what + " train pure");
                TestUtil.AssertClose(fit.TrainPredictions(LinearizationVariant.ExpandAroundModel), reference.trainExpand, 1e-10, what + " train expand");
                // Predicting at the training inputs goes through J̃(x)·δθ instead of K·α: the same numbers.
                TestUtil.AssertClose(fit.Predict(x, LinearizationVariant.ExpandAroundModel), reference.trainExpand, 1e-10, what + " predict(X)");
                // δθ = J̃ᵀα with the explicit (rescaled) Jacobian.
                var jac = EmpiricalNtk.ComputeJacobian(model, x, DenseReference.Exact(ntk));
                var j = MN.Matrix<double>.Build.Dense(x.Rows * c, model.ParameterCount, (r, mu) => jac[r / c, r % c, mu]);
                TestUtil.AssertClose(fit.ParameterDisplacement(LinearizationVariant.ExpandAroundModel), (j.Transpose() * reference.alphaExpand).ToArray(), 1e-10, what + " δθ");
            }
        }

        [Test]
        public void ConjugateGradient_ReportsIterations_WithAndWithoutPreconditioner()
        {
            var (_, model, x, y, xTest, _, _) = Cases()[2];
            var reference = DenseReference.Solve(model, x, y, xTest, 1e-3, null);
            int plain = 0;
            foreach (int rank in new[] { 0, 10, 96 })
            {
                var fit = KernelRegression.Fit(model, x, y, 1e-3, new KernelRegressionOptions { Method = LinearSolveMethod.ConjugateGradient, PreconditionerRank = rank, Tolerance = 1e-12 });
                Assert.That(fit.PreconditionerRank, Is.EqualTo(rank));
                Assert.That(fit.Iterations, Is.GreaterThan(0));
                Assert.That(fit.RelativeResidual, Is.LessThanOrEqualTo(1e-11));
                TestUtil.AssertClose(fit.Predict(xTest, LinearizationVariant.PureNtk), reference.predPure, 1e-9, "rank " + rank);
                if (rank == 0) plain = fit.Iterations;
                // A Nyström sketch of full rank makes the preconditioned system the identity: a handful of iterations.
                if (rank == 96) Assert.That(fit.Iterations, Is.LessThan(Math.Max(8, plain / 4)), "full-rank preconditioner");
            }
        }

        [Test]
        public void SeveralRidges_ShareTheSetUp_AndEachMatchesItsOwnSolve()
        {
            var (_, model, x, y, xTest, _, _) = Cases()[0];
            var ridges = new[] { 1e-2, 0.5, 3.0 };
            var fits = KernelRegression.FitMany(model, x, y, ridges);
            Assert.That(fits.Select(f => f.Ridge), Is.EqualTo(ridges));
            foreach (var fit in fits)
                TestUtil.AssertClose(fit.Predict(xTest, LinearizationVariant.ExpandAroundModel), DenseReference.Solve(model, x, y, xTest, fit.Ridge, null).predExpand, 1e-10, "λ = " + fit.Ridge);
        }

        [Test]
        public void Auto_PicksParameterSideWhenPIsSmall_AndDenseWhenPIsLarge()
        {
            var cases = Cases();
            var tms = KernelRegression.Fit(cases[2].model, cases[2].x, cases[2].y, 1e-3);
            Assert.That(tms.Route, Is.EqualTo(LinearSolveRoute.ParameterSideCholesky), "TMS: P = 32 < N·C = 96");
            var net = KernelRegression.Fit(cases[0].model, cases[0].x, cases[0].y, 1e-2);
            Assert.That(net.Route, Is.EqualTo(LinearSolveRoute.DenseCholesky), "P = 83 > N·C = 28");
        }

        [Test]
        public void Auto_FallsBackToConjugateGradient_WhenNeitherFactorFitsTheBudget()
        {
            // TMS with P = 488 on 300 samples (N·C = 2,400): the structured Gram route needs ~10 MB, the dense kernel ~0.5 GB;
            // under an 8 MB budget only the matrix-free route (with a Nyström rank lowered to fit) remains.
            var setup = TmsSetup.Create(new TmsConfig { Features = 8, Hidden = 60, Samples = 300, Sparsity = 0.5 }, 4);
            var budget = new NtkOptions { MemoryBudgetBytes = 8L << 20 };
            Assert.That(KernelRegression.ParameterSideBytes(setup.InitialModel, 300, budget), Is.GreaterThan(budget.MemoryBudgetBytes));
            var fit = KernelRegression.Fit(setup.InitialModel, setup.Inputs, setup.Inputs, 1e-2, new KernelRegressionOptions { Ntk = budget });
            Assert.That(fit.Route, Is.EqualTo(LinearSolveRoute.ConjugateGradient));
            Assert.That(fit.PreconditionerRank, Is.InRange(1, 255), "rank lowered to fit the budget");
            Assert.That(fit.RelativeResidual, Is.LessThanOrEqualTo(1e-9));
            var exact = KernelRegression.Fit(setup.InitialModel, setup.Inputs, setup.Inputs, 1e-2, new KernelRegressionOptions { Method = LinearSolveMethod.ParameterSide });
            var xt = setup.Inputs.SliceRows(0, 20);
            foreach (var v in new[] { LinearizationVariant.ExpandAroundModel, LinearizationVariant.PureNtk })
                TestUtil.AssertClose(fit.Predict(xt, v), exact.Predict(xt, v), 1e-8, "CG vs parameter side " + v);
            var ex = Assert.Throws<MemoryBudgetExceededException>(() => KernelRegression.Fit(setup.InitialModel, setup.Inputs, setup.Inputs, 1e-2,
                new KernelRegressionOptions { Method = LinearSolveMethod.DenseCholesky, Ntk = budget }));
            Assert.That(ex!.Message, Does.Contain("dense"));
        }

        [Test]
        public void BadInput_IsRefusedWithTypedErrors()
        {
            var net = DenseNetwork.CreateRandom(new[] { 2, 4, 3 }, Activation.Tanh, 1);
            var x = TestUtil.RandomMatrix(5, 2, 1);
            var y = TestUtil.RandomMatrix(5, 3, 2);
            Assert.That(Assert.Throws<EntkArgumentException>(() => KernelRegression.Fit(net, x, y, 0))!.ParamName, Is.EqualTo("ridges"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => KernelRegression.Fit(net, x, y, double.NaN))!.ParamName, Is.EqualTo("ridges"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => KernelRegression.FitMany(net, x, y, Array.Empty<double>()))!.ParamName, Is.EqualTo("ridges"));
            Assert.That(Assert.Throws<ShapeMismatchException>(() => KernelRegression.Fit(net, x, TestUtil.RandomMatrix(5, 2, 2), 1))!.ParamName, Is.EqualTo("yTrain"));
            Assert.That(Assert.Throws<ShapeMismatchException>(() => KernelRegression.Fit(net, x, TestUtil.RandomMatrix(4, 3, 2), 1))!.ParamName, Is.EqualTo("yTrain"));
            Assert.That(Assert.Throws<ShapeMismatchException>(() => KernelRegression.Fit(net, TestUtil.RandomMatrix(5, 3, 1), y, 1))!.ParamName, Is.EqualTo("xTrain"));
            var nan = y.ToArray();
            nan[4] = double.NaN;
            Assert.Throws<NonFiniteValueException>(() => KernelRegression.Fit(net, x, Matrix.FromArray(5, 3, nan), 1));
            Assert.That(Assert.Throws<EntkArgumentException>(() => KernelRegression.Fit(net, x, y, 1, new KernelRegressionOptions { Tolerance = 0 }))!.ParamName, Is.EqualTo("options.Tolerance"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => KernelRegression.Fit(net, x, y, 1, new KernelRegressionOptions { PreconditionerRank = -1 }))!.ParamName, Is.EqualTo("options.PreconditionerRank"));
            var fit = KernelRegression.Fit(net, x, y, 1);
            Assert.That(Assert.Throws<ShapeMismatchException>(() => fit.Predict(TestUtil.RandomMatrix(2, 3, 1), LinearizationVariant.PureNtk))!.ParamName, Is.EqualTo("x"));
            Assert.Throws<EntkArgumentException>(() => fit.Coefficients((LinearizationVariant)7));
        }

        [Test]
        public void Metrics_FollowTheStatedDefinitions()
        {
            // Two samples, three outputs; labels = argmax of Y: 1 and 0.
            var y = Matrix.FromArray(2, 3, new[] { 0.0, 1.0, 0.5, 0.9, 0.1, 0.0 });
            var f = Matrix.FromArray(2, 3, new[] { 0.1, 0.8, 0.4, 0.7, 0.2, 0.1 });     // both correct
            var fl = Matrix.FromArray(2, 3, new[] { 0.0, 0.9, 0.9, 0.2, 0.6, 0.0 });    // sample 0: tie 0.9/0.9 → first index 1 (correct); sample 1 wrong
            var s = LinearizationMetrics.Score(fl, f, y);
            double mseLin = (0 + 0.01 + 0.16 + 0.49 + 0.25 + 0) / 6, mseF = (0.01 + 0.04 + 0.01 + 0.04 + 0.01 + 0.01) / 6;
            Assert.That(s.LinearizedMse, Is.EqualTo(mseLin).Within(1e-15));
            Assert.That(s.ModelMse, Is.EqualTo(mseF).Within(1e-15));
            Assert.That(s.LossRatio, Is.EqualTo(mseLin / mseF).Within(1e-12));
            Assert.That(s.LinearizedAccuracy, Is.EqualTo(0.5));
            Assert.That(s.ModelAccuracy, Is.EqualTo(1.0));
            Assert.That(s.AccuracyGapPercentagePoints, Is.EqualTo(50.0).Within(1e-12));
            double mean = f.Span.ToArray().Average();
            double tot = f.Span.ToArray().Sum(v => (v - mean) * (v - mean));
            double res = Enumerable.Range(0, 6).Sum(i => (fl.Span[i] - f.Span[i]) * (fl.Span[i] - f.Span[i]));
            Assert.That(s.R2, Is.EqualTo(1 - res / tot).Within(1e-12));
            Assert.Throws<ShapeMismatchException>(() => LinearizationMetrics.Score(fl, Matrix.Zeros(2, 2), y));
        }

        [Test]
        public void Check_ScoresEveryRidgeAndVariant()
        {
            var (_, model, x, y, xTest, _, _) = Cases()[2];
            var yTest = xTest;
            var report = LinearizationCheck.Run(model, x, y, xTest, yTest, new[] { 1e-3, 1.0 });
            Assert.That(report.Results.Select(r => (r.Ridge, r.VariantName)), Is.EqualTo(new[] { (1e-3, "expand"), (1e-3, "pure"), (1.0, "expand"), (1.0, "pure") }));
            var e = report.Result(1e-3, LinearizationVariant.ExpandAroundModel);
            var reference = DenseReference.Solve(model, x, y, xTest, 1e-3, null);
            TestUtil.AssertClose(e.Predictions, reference.predExpand, 1e-10);
            var expected = LinearizationMetrics.Score(reference.predExpand, model.Evaluate(xTest), yTest);
            Assert.That(e.Score.R2, Is.EqualTo(expected.R2).Within(1e-9));
            Assert.That(e.Score.LossRatio, Is.EqualTo(expected.LossRatio).Within(1e-9));
            var train = LinearizationMetrics.Score(reference.trainExpand, model.Evaluate(x), y);
            Assert.That(e.TrainScore.R2, Is.EqualTo(train.R2).Within(1e-9));
            Assert.Throws<EntkArgumentException>(() => report.Result(0.5, LinearizationVariant.PureNtk));
        }
    }
}
