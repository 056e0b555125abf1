using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Entk.Experiments;
using Entk.IO;
using Entk.Kernels;
using Entk.Linearization;
using Entk.Training;
using NUnit.Framework;

namespace Entk.Tests.Linearization
{
    [TestFixture]
    [NonParallelizable]
    public class TmsLinearizationTests
    {
        [Test]
        public void TestSet_IsSeeded_FromTheTrainingDistribution_AndLeavesTheTrainingSetAlone()
        {
            var cfg = new TmsConfig { Features = 20, Hidden = 5, Samples = 400, Sparsity = 0.7 };
            var a = TmsTestSet.Create(cfg, 3, 400);
            var b = TmsTestSet.Create(cfg, 3, 400);
            var other = TmsTestSet.Create(cfg, 4, 400);
            var train = TmsSetup.Create(cfg, 3).Inputs;
            Assert.That(a.Span.ToArray(), Is.EqualTo(b.Span.ToArray()), "same seed, same test set");
            Assert.That(a.MaxAbsDifference(other), Is.GreaterThan(0.1));
            Assert.That(a.MaxAbsDifference(train), Is.GreaterThan(0.1), "not the training set");
            Assert.That(TmsSetup.Create(cfg, 3).Inputs.Span.ToArray(), Is.EqualTo(train.Span.ToArray()));
            double zeros = a.Span.ToArray().Count(v => v == 0) / (double)a.Span.Length;
            Assert.That(zeros, Is.EqualTo(0.7).Within(0.03), "feature sparsity S");
            for (int i = 0; i < a.Rows; i++)
            {
                double norm = Math.Sqrt(a.Row(i).Sum(v => v * v));
                Assert.That(norm == 0 || Math.Abs(norm - 1) < 1e-7, Is.True, "row " + i + " norm " + norm);
            }
        }

        /// <summary>
        /// Why "expand" ≈ "pure" for TMS: f(x) = ReLU(WᵀWx + b) is homogeneous, f(W(1 + t/2), b(1 + t)) has t-derivative
        /// ReLU′(pre)·pre = f at t = 0, so f(x) = J(x)·θ′ exactly with θ′ = (W/2, b), and expand − pure = λ·J(x)(JᵀJ + λI)⁻¹θ′.
        /// </summary>
        [Test]
        public void Tms_OutputIsTheJacobianTimesHalfWeightsAndBias_SoTheVariantsDifferOnlyByTheRidgeTerm()
        {
            var setup = TmsSetup.Create(new TmsConfig { Features = 8, Hidden = 3, Samples = 20, Sparsity = 0.4, LearningRate = 1e-2 }, 5);
            var model = TmsTraining.Train(setup, new TmsTrainingOptions { Steps = 200 }).Model;
            var x = setup.Inputs;
            var theta = model.GetParameters();
            int pw = 3 * 8;
            var dir = theta.Select((v, i) => i < pw ? v / 2 : v).ToArray();
            var jac = EmpiricalNtk.ComputeJacobian(model, x, new NtkOptions { Method = NtkMethod.JacobianContraction });
            var f = model.Evaluate(x);
            var jd = new double[x.Rows * 8];
            for (int n = 0; n < x.Rows; n++)
                for (int c = 0; c < 8; c++)
                    jd[n * 8 + c] = Enumerable.Range(0, model.ParameterCount).Sum(mu => jac[n, c, mu] * dir[mu]);
            TestUtil.AssertClose(Matrix.FromArray(x.Rows, 8, jd), f, 1e-12, "J·(W/2, b) = f");
            double lambda = 1e-3;
            var fit = KernelRegression.Fit(model, x, x, lambda);
            var xt = TmsTestSet.Create(setup.Config, 5, 7);
            var diff = TestUtil.Add(fit.Predict(xt, LinearizationVariant.ExpandAroundModel), TestUtil.Scale(fit.Predict(xt, LinearizationVariant.PureNtk), -1));
            // λ·J(x)(G + λI)⁻¹θ′ with the explicit Jacobian.
            var j = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(x.Rows * 8, model.ParameterCount, (r, mu) => jac[r / 8, r % 8, mu]);
            var g = j.Transpose() * j + lambda * MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseIdentity(model.ParameterCount);
            var z = g.Solve(MathNet.Numerics.LinearAlgebra.Vector<double>.Build.DenseOfArray(dir)) * lambda;
            var jt = EmpiricalNtk.ComputeJacobian(model, xt, new NtkOptions { Method = NtkMethod.JacobianContraction });
            var expected = new double[xt.Rows * 8];
            for (int n = 0; n < xt.Rows; n++)
                for (int c = 0; c < 8; c++)
                    expected[n * 8 + c] = Enumerable.Range(0, model.ParameterCount).Sum(mu => jt[n, c, mu] * z[mu]);
            TestUtil.AssertClose(diff, Matrix.FromArray(xt.Rows, 8, expected), 1e-10, "expand − pure");
        }

        /// <summary>
        /// The (m = 40, S = 0.9) TMS model (P = 2,050): the parameter-side route and matrix-free CG never form the N·C × N·C
        /// kernel; on D = 60 (N·C = 3,000) both match the dense Cholesky solve to 1e-8 at the paper's ridge 1e-4, and at the
        /// paper's D = 500 (25,000²) Auto takes the parameter side.
        /// </summary>
        [Test]
        public void PaperSizeModel_RoutesMatchTheDenseSolve_AtThePapersRidge()
        {
            var cfg = new TmsConfig { Hidden = 40, Sparsity = 0.9, Samples = 30, Steps = 400 };
            var trained = TmsTraining.Train(TmsSetup.Create(cfg, 1));
            var x = trained.Setup.Inputs;
            var xt = TmsTestSet.Create(cfg, 1, 30);
            var dense = KernelRegression.Fit(trained.Model, x, x, 1e-4, new KernelRegressionOptions { Method = LinearSolveMethod.DenseCholesky });
            foreach (var method in new[] { LinearSolveMethod.ParameterSide, LinearSolveMethod.ConjugateGradient })
            {
                var fit = KernelRegression.Fit(trained.Model, x, x, 1e-4, new KernelRegressionOptions { Method = method });
                foreach (var v in new[] { LinearizationVariant.ExpandAroundModel, LinearizationVariant.PureNtk })
                {
                    TestUtil.AssertClose(fit.Predict(xt, v), dense.Predict(xt, v), 1e-8, method + " " + v + " test");
                    TestUtil.AssertClose(fit.TrainPredictions(v), dense.TrainPredictions(v), 1e-8, method + " " + v + " train");
                }
                TestContext.Out.WriteLine($"{method}: relative residual {fit.RelativeResidual:E2}, iterations {fit.Iterations}, {fit.Seconds:0.00}s (dense {dense.Seconds:0.00}s)");
            }
            var plan = KernelRegression.Plan(trained.Model, 500, new KernelRegressionOptions(), new NtkOptions(), "options");
            Assert.That(plan.Route, Is.EqualTo(LinearSolveRoute.ParameterSideCholesky));
        }

        [Test]
        public void Cli_Linearize_WritesTheFiles_InTheIssuesLayout_WithTheLibrarysNumbers()
        {
            string dir = Path.Combine(Path.GetTempPath(), "entk-lin-" + Guid.NewGuid().ToString("N"));
            try
            {
                var (code, output) = CliTests.Run("tms", "--out", dir, "-n", "10", "-m", "4", "-S", "0.8", "-D", "40", "--steps", "400", "--lr", "1e-2", "-k", "10", "--betas", "0",
                    "--seed", "6", "--linearize", "--ridge", "1e-3,1");
                Assert.That(code, Is.EqualTo(0), output);
                Assert.That(output, Does.Contain("eNTK linearisation"));
                string m = Path.Combine(dir, "m4_S0.8");
                var test = Npy.ReadMatrix(Path.Combine(m, "test_inputs.npy"));
                Assert.That(test.Shape, Is.EqualTo(new[] { 40, 10 }));
                Assert.That(test.Span.ToArray(), Is.EqualTo(TmsTestSet.Create(new TmsConfig { Features = 10, Hidden = 4, Sparsity = 0.8, Samples = 40 }, 6, 40).Span.ToArray()));
                var json = JsonNode.Parse(File.ReadAllText(Path.Combine(m, "linearization.json")))!.AsObject();
                Assert.That(json.Select(kv => kv.Key), Is.EqualTo(new[] { "train_samples", "test_samples", "seconds", "results" }));
                Assert.That(json["train_samples"]!.GetValue<int>(), Is.EqualTo(40));
                Assert.That(json["test_samples"]!.GetValue<int>(), Is.EqualTo(40));
                Assert.That(json["seconds"]!.GetValue<double>(), Is.GreaterThan(0));
                var results = json["results"]!.AsArray();
                Assert.That(results.Select(r => (r!["ridge"]!.GetValue<double>(), r["variant"]!.GetValue<string>())),
                    Is.EqualTo(new[] { (1e-3, "expand"), (1e-3, "pure"), (1.0, "expand"), (1.0, "pure") }));
                foreach (var r in results)
                    Assert.That(r!.AsObject().Select(kv => kv.Key), Is.EqualTo(new[] { "ridge", "variant", "loss_ratio", "accuracy_gap_pp", "r2" }));
                // The numbers are the library's on the written model and test set.
                var model = ModelFiles.LoadTms(Path.Combine(m, "weights.npz"));
                var x = Npy.ReadMatrix(Path.Combine(m, "inputs.npy"));
                var report = LinearizationCheck.Run(model, x, x, test, test, new[] { 1e-3, 1.0 });
                for (int i = 0; i < 4; i++)
                {
                    var s = report.Results[i].Score;
                    Assert.That(results[i]!["loss_ratio"]!.GetValue<double>(), Is.EqualTo(s.LossRatio).Within(1e-9));
                    Assert.That(results[i]!["accuracy_gap_pp"]!.GetValue<double>(), Is.EqualTo(s.AccuracyGapPercentagePoints).Within(1e-9));
                    Assert.That(results[i]!["r2"]!.GetValue<double>(), Is.EqualTo(s.R2).Within(1e-9));
                }
                var preds = Npy.Read(Path.Combine(m, "linearization_predictions.npy"));
                Assert.That(preds.Shape, Is.EqualTo(new[] { 2, 2, 40, 10 }));
                Assert.That(File.Exists(Path.Combine(m, "linearization.png")) && File.Exists(Path.Combine(m, "linearization.csv")), Is.True);
                string csv = File.ReadAllText(Path.Combine(m, "linearization.csv"));
                Assert.That(csv.Split('\n').Count(l => l.Contains(",point,")), Is.EqualTo(4 * 40 * 10), "every shown point is in the CSV");
                Assert.That(File.ReadAllText(Path.Combine(dir, "report.md")), Does.Contain("eNTK linearisation check"));
                var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(m, "metrics.json")))!;
                Assert.That(metrics["linearization"]!["results"]!.AsArray().Count, Is.EqualTo(4));
            }
            finally
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
            }
        }

        [Test]
        public void Cli_RidgeWithoutLinearize_IsAnError()
        {
            string dir = Path.Combine(Path.GetTempPath(), "entk-lin-" + Guid.NewGuid().ToString("N"));
            try
            {
                var (code, output) = CliTests.Run("tms", "--out", dir, "-n", "6", "-m", "2", "-D", "10", "--steps", "5", "-k", "5", "--ridge", "1e-3");
                Assert.That(code, Is.EqualTo(2), output);
                Assert.That(output, Does.Contain("--ridge without --linearize"));
                Assert.That(Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any(), Is.False, "refused before anything was written");
                // Control: the same command without --ridge runs (the option's default is not mistaken for a given value).
                (code, output) = CliTests.Run("tms", "--out", dir, "-n", "6", "-m", "2", "-D", "10", "--steps", "5", "-k", "5", "--betas", "0");
                Assert.That(code, Is.EqualTo(0), output);
                Assert.That(File.Exists(Path.Combine(dir, "m2_S0.3", "linearization.json")), Is.False, "no check without --linearize");
                Directory.Delete(dir, true);
                (code, output) = CliTests.Run("tms", "--out", dir, "-n", "6", "-m", "2", "-D", "10", "--steps", "5", "-k", "5", "--linearize", "--ridge", "0");
                Assert.That(code, Is.EqualTo(2), output);
                Assert.That(output, Does.Contain("positive ridges"));
                (code, output) = CliTests.Run("tms", "--out", dir, "-n", "6", "-m", "2", "-D", "10", "--steps", "5", "-k", "5", "--linearize", "--linearize-method", "lu");
                Assert.That(code, Is.EqualTo(2), output);
                Assert.That(output, Does.Contain("--linearize-method"));
            }
            finally
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
            }
        }
    }
}
