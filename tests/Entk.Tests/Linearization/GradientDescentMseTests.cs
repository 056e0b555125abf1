using System;
using System.Linq;
using Entk.Kernels;
using Entk.Linearization;
using Entk.Models;
using Entk.Torch;
using Entk.Training;
using NUnit.Framework;
using TorchSharp;
using MN = MathNet.Numerics.LinearAlgebra;

namespace Entk.Tests.Linearization
{
    [TestFixture]
    public class GradientDescentMseTests
    {
        private static (string name, NtkModel model, Matrix x, Matrix y, Matrix xTest)[] Cases()
        {
            var setup = TmsSetup.Create(new TmsConfig { Features = 8, Hidden = 3, Samples = 12, Sparsity = 0.4, LearningRate = 1e-2 }, 2);
            var tms = TmsTraining.Train(setup, new TmsTrainingOptions { Steps = 150 }).Model;
            return new (string, NtkModel, Matrix, Matrix, Matrix)[]
            {
                ("dense tanh (P > N·C)", DenseNetwork.CreateRandom(new[] { 3, 6, 5, 4 }, Activation.Tanh, 1), TestUtil.RandomMatrix(7, 3, 2), TestUtil.RandomMatrix(7, 4, 3), TestUtil.RandomMatrix(4, 3, 4)),
                ("tms (P < N·C, singular K)", tms, setup.Inputs, setup.Inputs, TmsSetup.Create(new TmsConfig { Features = 8, Hidden = 3, Samples = 5, Sparsity = 0.4 }, 9).Inputs),
            };
        }

        /// <summary>
        /// The explicit solution of the linear ODE d/dt [f_X; f_x] = c·[K + ρI; K(x, X)]·(Y − f_X) by the matrix exponential of
        /// the augmented system (no eigendecomposition, valid for singular K).
        /// </summary>
        private static (Matrix train, Matrix test) ExplicitFlow(NtkModel model, Matrix x, Matrix y, Matrix xTest, double eta, double rho, double t)
        {
            var opt = new NtkOptions { Method = NtkMethod.JacobianContraction };
            var k = EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, x, options: opt).Matrix;
            var kx = EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, xTest, x, opt).Matrix;
            int c = model.OutputDimension, d = x.Rows * c, m = xTest.Rows * c, size = d + m + 1;
            double scale = eta / d;
            var f0 = model.Evaluate(x).Span;
            var g0 = model.Evaluate(xTest).Span;
            var a = new double[size * size];
            for (int i = 0; i < d; i++)
            {
                double ky = 0;
                for (int j = 0; j < d; j++)
                {
                    double kij = k[i, j] + (i == j ? rho : 0);
                    a[i * size + j] = -scale * kij * t;
                    ky += kij * y.Span[j];
                }
                a[i * size + size - 1] = scale * ky * t;
            }
            for (int i = 0; i < m; i++)
            {
                double ky = 0;
                for (int j = 0; j < d; j++)
                {
                    a[(d + i) * size + j] = -scale * kx[i, j] * t;
                    ky += kx[i, j] * y.Span[j];
                }
                a[(d + i) * size + size - 1] = scale * ky * t;
            }
            var z0 = new double[size];
            for (int i = 0; i < d; i++) z0[i] = f0[i];
            for (int i = 0; i < m; i++) z0[d + i] = g0[i];
            z0[size - 1] = 1;
            using var scope = torch.NewDisposeScope();
            var e = torch.linalg.matrix_exp(TorchOps.ToTensor(a, size, size));
            var z = TorchOps.ToArray(e.mv(TorchOps.ToTensor(z0, size)));
            return (Matrix.FromArray(x.Rows, c, z.Take(d).ToArray()), Matrix.FromArray(xTest.Rows, c, z.Skip(d).Take(m).ToArray()));
        }

        [Test]
        public void FiniteTimes_MatchTheExplicitMatrixExponential([Values(DynamicsMethod.ParameterSide, DynamicsMethod.DenseKernel)] DynamicsMethod method, [Values(0.0, 0.05)] double rho)
        {
            foreach (var (name, model, x, y, xTest) in Cases())
            {
                const double eta = 0.7;
                var gd = GradientDescentMse.Create(model, x, y, new GradientDescentMseOptions { LearningRate = eta, Ridge = rho, Method = method });
                Assert.That(gd.Route, Is.EqualTo(method == DynamicsMethod.ParameterSide ? DynamicsRoute.ParameterSide : DynamicsRoute.DenseKernel));
                var times = new[] { 0.0, 2.5, 40.0, 600.0 };
                var tests = gd.Predict(xTest, times);
                for (int i = 0; i < times.Length; i++)
                {
                    var (train, test) = ExplicitFlow(model, x, y, xTest, eta, rho, times[i]);
                    string what = $"{name} {method} ρ={rho} t={times[i]}";
                    TestUtil.AssertClose(gd.PredictTrain(times[i]), train, 1e-10, what + " train");
                    TestUtil.AssertClose(tests[i], test, 1e-10, what + " test");
                }
                TestUtil.AssertClose(gd.PredictTrain(0), model.Evaluate(x), 1e-12, name + " t = 0 is the network");
                double l0 = gd.TrainLoss(0), l1 = gd.TrainLoss(40), l2 = gd.TrainLoss(600);
                Assert.That(l1, Is.LessThan(l0));
                Assert.That(l2, Is.LessThanOrEqualTo(l1));
            }
        }

        [Test]
        public void InfiniteTime_IsKernelRegression_WithRidge_AndThePseudoInverse_WithoutRidge([Values(DynamicsMethod.ParameterSide, DynamicsMethod.DenseKernel)] DynamicsMethod method)
        {
            foreach (var (name, model, x, y, xTest) in Cases())
            {
                var gd = GradientDescentMse.Create(model, x, y, new GradientDescentMseOptions { Ridge = 0.05, Method = method });
                var kr = KernelRegression.Fit(model, x, y, 0.05, new KernelRegressionOptions { Method = LinearSolveMethod.DenseCholesky });
                TestUtil.AssertClose(gd.Predict(xTest, double.PositiveInfinity), kr.Predict(xTest, LinearizationVariant.ExpandAroundModel), 1e-10, name + " test, ρ > 0");
                TestUtil.AssertClose(gd.PredictTrain(double.PositiveInfinity), y, 1e-10, name + " train reaches Y, ρ > 0");

                // ρ = 0: f_∞(x) = f₀(x) + K(x, X)K⁺r₀, f_∞(X) = Y − (I − KK⁺)r₀ (K⁺ from MathNet's SVD).
                var gd0 = GradientDescentMse.Create(model, x, y, new GradientDescentMseOptions { Method = method });
                var opt = new NtkOptions { Method = NtkMethod.JacobianContraction };
                var k = DenseReference.ToMathNet(EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, x, options: opt).Matrix);
                var kx = DenseReference.ToMathNet(EmpiricalNtk.Compute(model, KernelReduction.FlattenSampleMajor, xTest, x, opt).Matrix);
                var svd = k.Svd();
                double cut = 1e-9 * svd.S[0];
                var sInv = MN.Matrix<double>.Build.DiagonalOfDiagonalVector(svd.S.Map(v => v > cut ? 1 / v : 0));
                var kPinv = svd.VT.Transpose() * sInv * svd.U.Transpose();
                var r0 = DenseReference.Flatten(y) - DenseReference.Flatten(model.Evaluate(x));
                int c = model.OutputDimension;
                var test = DenseReference.Flatten(model.Evaluate(xTest)) + kx * (kPinv * r0);
                var train = DenseReference.Flatten(y) - (r0 - k * (kPinv * r0));
                TestUtil.AssertClose(gd0.Predict(xTest, double.PositiveInfinity), DenseReference.Unflatten(test, xTest.Rows, c), 1e-8, name + " test, ρ = 0");
                TestUtil.AssertClose(gd0.PredictTrain(double.PositiveInfinity), DenseReference.Unflatten(train, x.Rows, c), 1e-8, name + " train, ρ = 0");
            }
        }

        [Test]
        public void ParameterDisplacement_PredictsTheLinearisedModel()
        {
            var (_, model, x, y, xTest) = Cases()[0];
            var gd = GradientDescentMse.Create(model, x, y, new GradientDescentMseOptions { LearningRate = 0.3 });
            var dtheta = gd.ParameterDisplacement(25);
            var jac = EmpiricalNtk.ComputeJacobian(model, xTest, new NtkOptions { Method = NtkMethod.JacobianContraction });
            var f0 = model.Evaluate(xTest);
            int c = model.OutputDimension;
            var expected = new double[xTest.Rows * c];
            for (int n = 0; n < xTest.Rows; n++)
                for (int o = 0; o < c; o++)
                    expected[n * c + o] = f0[n, o] + Enumerable.Range(0, model.ParameterCount).Sum(mu => jac[n, o, mu] * dtheta[mu]);
            TestUtil.AssertClose(gd.Predict(xTest, 25), Matrix.FromArray(xTest.Rows, c, expected), 1e-12);
        }

        /// <summary>
        /// Real full-batch gradient descent of wide tanh networks in the NTK parametrisation (one hidden layer of width 64 and 4096, 2 → H → 2,
        /// η = 0.1, 1000 steps, η·λ_max(K)/(N·C) ≈ 0.07) against the closed-form prediction of the network linearised at initialisation. The measured
        /// agreement is stated in the assertion messages; the error of the linear prediction must fall with the width
        /// (≈ 1/√H in theory) and stay a small fraction of the distance the outputs moved.
        /// </summary>
        [Test]
        public void WideNetwork_TrainedWithSmallLearningRate_IsTrackedByTheLinearisedDynamics()
        {
            var x = TestUtil.RandomMatrix(12, 2, 11);
            var y = TestUtil.RandomMatrix(12, 2, 12, 0.8);
            var xTest = TestUtil.RandomMatrix(6, 2, 13);
            var steps = new[] { 0, 100, 1000 };
            var relErr = new double[2];
            int[] widths = { 64, 4096 };
            for (int w = 0; w < widths.Length; w++)
            {
                var net = DenseNetwork.CreateNtkParametrised(new[] { 2, widths[w], 2 }, Activation.Tanh, seed: 5, sigmaW: 1.5, sigmaB: 0.1);
                var trained = MseGradientDescent.Train(net, x, y, 0.1, steps, new MseGradientDescentOptions { EvaluationInputs = xTest });
                var gd = GradientDescentMse.Create(net, x, y, new GradientDescentMseOptions { LearningRate = 0.1 });
                var pred = gd.Predict(xTest, steps.Select(s => (double)s).ToArray());
                double err = 0, moved = 0;
                for (int i = 0; i < steps.Length; i++)
                {
                    err = Math.Max(err, trained.Predictions[i].MaxAbsDifference(pred[i]));
                    moved = Math.Max(moved, trained.Predictions[i].MaxAbsDifference(trained.Predictions[0]));
                }
                relErr[w] = err / moved;
                double lossLin = gd.TrainLoss(1000), lossReal = trained.Losses[^1];
                TestContext.Out.WriteLine($"H = {widths[w]}: max |f_GD − f_lin| on test points = {err:E3}, outputs moved {moved:E3} (relative {relErr[w]:E3}); train loss at step 1000: GD {lossReal:E4}, linearised {lossLin:E4}; η·λ_max(K)/(N·C) = {0.1 * gd.Eigenvalues[0] / 24:G3}");
                Assert.That(trained.Losses[^1], Is.LessThan(0.5 * trained.Losses[0]), "training made progress");
            }
            Assert.That(relErr[1], Is.LessThan(5e-3), $"H = 4096: relative error {relErr[1]:E3}");
            Assert.That(relErr[1], Is.LessThan(relErr[0] / 4), $"error falls with width: {relErr[0]:E3} (H = 64) vs {relErr[1]:E3} (H = 4096)");
        }

        [Test]
        public void BadInput_IsRefused()
        {
            var (_, model, x, y, _) = Cases()[0];
            Assert.That(Assert.Throws<EntkArgumentException>(() => GradientDescentMse.Create(model, x, y, new GradientDescentMseOptions { LearningRate = 0 }))!.ParamName, Is.EqualTo("options.LearningRate"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => GradientDescentMse.Create(model, x, y, new GradientDescentMseOptions { Ridge = -1 }))!.ParamName, Is.EqualTo("options.Ridge"));
            var gd = GradientDescentMse.Create(model, x, y);
            Assert.That(Assert.Throws<EntkArgumentException>(() => gd.PredictTrain(-1))!.ParamName, Is.EqualTo("t"));
            Assert.That(Assert.Throws<EntkArgumentException>(() => gd.PredictTrain(double.NaN))!.ParamName, Is.EqualTo("t"));
            Assert.Throws<ShapeMismatchException>(() => gd.Predict(TestUtil.RandomMatrix(2, 5, 1), 1.0));
            Assert.Throws<ShapeMismatchException>(() => MseGradientDescent.Train((FunctionalModel)model, x, TestUtil.RandomMatrix(7, 3, 1), 0.1, new[] { 1 }));
        }
    }
}
