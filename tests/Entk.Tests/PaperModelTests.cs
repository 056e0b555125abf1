using System;
using System.Linq;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;
using Entk.Training;
using NUnit.Framework;

namespace Entk.Tests
{
    [TestFixture]
    public class TmsModelTests
    {
        private static TmsSetup Small(long seed = 3) => TmsSetup.Create(new TmsConfig { Features = 10, Hidden = 5, Samples = 40, Sparsity = 0.5, Steps = 200, LearningRate = 1e-2 }, seed);

        /// <summary>A trained (non-trivial b, active and inactive ReLUs) small model.</summary>
        private static TmsModel Trained() => TmsTraining.Train(Small(), new TmsTrainingOptions { Steps = 200 }).Model;

        [Test]
        public void StructuredKernel_EqualsJacobianContraction_AllReductionsAndBetas()
        {
            var model = Trained();
            var x = Small().Inputs;
            var imp = new TmsConfig { Features = 10 }.Importance();
            foreach (double beta in new[] { 0.0, 1.0, 0.3 })
                foreach (var r in new[] { KernelReduction.FlattenClassMajor, KernelReduction.TraceMean, KernelReduction.AllPairsMean, KernelReduction.Block(2, 7) })
                {
                    var o = new NtkOptions { Importance = imp, Beta = beta };
                    var jc = EmpiricalNtk.ComputeLayerwise(model, r, x, options: o with { Method = NtkMethod.JacobianContraction });
                    var st = EmpiricalNtk.ComputeLayerwise(model, r, x, options: o with { Method = NtkMethod.Structured });
                    foreach (var g in new[] { "W", "b" }) TestUtil.AssertClose(st[g].Matrix, jc[g].Matrix, 1e-10, $"{g} β={beta} {r}");
                }
        }

        [Test]
        public void StructuredJacobian_EqualsAutogradAndFiniteDifferences()
        {
            var model = Trained();
            var x = Small().Inputs.SliceRows(0, 6);
            var closed = EmpiricalNtk.ComputeJacobian(model, x, new NtkOptions { Method = NtkMethod.Structured });
            var auto = EmpiricalNtk.ComputeJacobian(model, x, new NtkOptions { Method = NtkMethod.JacobianContraction });
            TestUtil.AssertClose(closed.ToArray(), auto.ToArray(), 1e-12, "closed vs autograd");
            var theta = model.GetParameters();
            const double h = 1e-6;
            double worst = 0;
            for (int mu = 0; mu < theta.Length; mu++)
            {
                var tp = (double[])theta.Clone(); tp[mu] += h;
                var tm = (double[])theta.Clone(); tm[mu] -= h;
                var fp = model.WithParameters(tp).Evaluate(x);
                var fm = model.WithParameters(tm).Evaluate(x);
                for (int n = 0; n < x.Rows; n++)
                    for (int c = 0; c < 10; c++)
                    {
                        double fd = (fp[n, c] - fm[n, c]) / (2 * h);
                        // Skip entries whose ReLU switches within ±h (FD invalid there).
                        if (Math.Abs(fd - auto[n, c, mu]) > 1e-3) continue;
                        worst = Math.Max(worst, Math.Abs(fd - auto[n, c, mu]));
                    }
            }
            Assert.That(worst, Is.LessThan(1e-7));
        }

        /// <summary>Issue 3: the parameter-side spectrum equals the explicitly formed (N·C)² kernel to 1e-10, for every β.</summary>
        [TestCase(0.0)]
        [TestCase(1.0)]
        [TestCase(0.3)]
        public void ParameterSideSpectrum_EqualsExplicitKernel(double beta)
        {
            var setup = Small();
            var model = Trained();
            var imp = setup.Importance;
            var o = new NtkOptions { Importance = imp, Beta = beta };
            var side = EmpiricalNtk.Spectrum(model, KernelReduction.FlattenClassMajor, setup.Inputs, 30, o, RidgePolicy.Paper);
            Assert.That(side.Route, Is.EqualTo(SpectrumRoute.ParameterSideGram));
            var k = EmpiricalNtk.Compute(model, KernelReduction.FlattenClassMajor, setup.Inputs, options: o with { Method = NtkMethod.JacobianContraction }).Matrix;
            Assert.That(k.Rows, Is.EqualTo(400));
            var dense = SymmetricEigen.Decompose(k, 30, RidgePolicy.Paper);
            TestUtil.AssertClose(side.ValuesArray(), dense.ValuesArray(), 1e-10, "eigenvalues");
            // Eigenvectors: K·u = (λ − shift)·u and UᵀU = I (never compared by sign).
            var ku = k.Multiply(side.Vectors);
            double worst = 0;
            for (int i = 0; i < k.Rows; i++)
                for (int j = 0; j < 30; j++)
                    worst = Math.Max(worst, Math.Abs(ku[i, j] - side.Vectors[i, j] * (side.Values[j] - side.Shift)));
            Assert.That(worst, Is.LessThan(1e-10 * side.Values[0]));
            TestUtil.AssertClose(side.Vectors.Transpose().Multiply(side.Vectors), Matrix.Identity(30), 1e-10, "UᵀU");
        }

        [Test]
        public void StructuredParameterGram_EqualsJtJ_AndStructuredProductEqualsJV()
        {
            var model = Trained();
            var x = Small().Inputs;
            var imp = new TmsConfig { Features = 10 }.Importance();
            var s = new NtkOptions { Importance = imp, Beta = 0.3 }.OutputScales(10);
            var j = EmpiricalNtk.ComputeJacobian(model, x, new NtkOptions { Importance = imp, Beta = 0.3, Method = NtkMethod.JacobianContraction }).ToMatrix(FlattenOrder.SampleMajor);
            using var scope = TorchSharp.torch.NewDisposeScope();
            var xt = Entk.Torch.TorchOps.ToTensor(x);
            var st = (IStructuredKernels)model;
            var g = Entk.Torch.TorchOps.ToMatrix(st.ParameterGram(xt, s)!);
            TestUtil.AssertClose(g, j.Transpose().Multiply(j), 1e-12, "Gram");
            var v = TestUtil.RandomMatrix(model.ParameterCount, 4, 77);
            var jv = Entk.Torch.TorchOps.ToMatrix(st.JacobianProduct(xt, s, Entk.Torch.TorchOps.ToTensor(v))!.reshape(400, 4));
            TestUtil.AssertClose(jv, j.Multiply(v), 1e-12, "J·V");
        }

        /// <summary>
        /// The rotation symmetry f(QW) = f(W): the reduced basis is orthonormal, has P − m(m−1)/2 columns, J̃ vanishes on
        /// the removed directions A·W, and G lives in the kept span (G = Q·QᵀGQ·Qᵀ), also for rank-deficient W.
        /// </summary>
        [TestCase(false)]
        [TestCase(true)]
        public void SymmetryReducedGram_IsExactProjection(bool rankDeficient)
        {
            var model = Trained();
            if (rankDeficient)
            {
                // Two zero rows of W: σ_3 = σ_4 = 0, so the (3, 4) pair must be kept whole.
                var w = model.W.ToArray2D();
                for (int j = 0; j < 10; j++) { w[3, j] = 0; w[4, j] = 0; }
                model = TmsModel.FromWeights(Matrix.FromArray2D(w), model.B);
            }
            var x = Small().Inputs;
            var s = new NtkOptions { Importance = new TmsConfig { Features = 10 }.Importance(), Beta = 0.3 }.OutputScales(10);
            using var scope = TorchSharp.torch.NewDisposeScope();
            var xt = Entk.Torch.TorchOps.ToTensor(x);
            var st = (IStructuredKernels)model;
            var gt = st.ParameterGram(xt, s)!;
            var red = st.SymmetryReduce(gt)!;
            int p = model.ParameterCount, pr = (int)red.Gram.shape[0];
            Assert.That(pr, Is.EqualTo(rankDeficient ? p - 10 + 1 : p - 10), "P' = P − m(m−1)/2 (+1 kept pair when σ_i = σ_j = 0)");
            var q = Entk.Torch.TorchOps.ToMatrix(red.Lift(TorchSharp.torch.eye(pr, dtype: TorchSharp.torch.ScalarType.Float64)));
            TestUtil.AssertClose(q.Transpose().Multiply(q), Matrix.Identity(pr), 1e-12, "QᵀQ");
            var g = Entk.Torch.TorchOps.ToMatrix(gt);
            TestUtil.AssertClose(Entk.Torch.TorchOps.ToMatrix(red.Gram), q.Transpose().Multiply(g).Multiply(q), 1e-11, "G' = QᵀGQ");
            var qqt = q.Multiply(q.Transpose());
            TestUtil.AssertClose(qqt.Multiply(g).Multiply(qqt), g, 1e-11, "G = QQᵀ G QQᵀ");
            // J̃·vec(A·W, 0) = 0 for an antisymmetric A (the model is invariant under W ↦ e^{tA}W).
            var a = TestUtil.RandomMatrix(5, 5, 5);
            var anti = new double[5, 5];
            for (int i = 0; i < 5; i++) for (int j = 0; j < 5; j++) anti[i, j] = a[i, j] - a[j, i];
            var aw = Matrix.FromArray2D(anti).Multiply(model.W);
            var dir = new double[p];
            for (int k = 0; k < 5; k++) for (int l = 0; l < 10; l++) dir[k * 10 + l] = aw[k, l];
            var jd = Entk.Torch.TorchOps.ToMatrix(st.JacobianProduct(xt, s, Entk.Torch.TorchOps.ToTensor(Matrix.FromArray(p, 1, dir)))!.reshape(400, 1));
            var jRand = Entk.Torch.TorchOps.ToMatrix(st.JacobianProduct(xt, s, Entk.Torch.TorchOps.ToTensor(TestUtil.RandomMatrix(p, 1, 6)))!.reshape(400, 1));
            Assert.That(jd.FrobeniusNorm(), Is.LessThan(1e-13 * jRand.FrobeniusNorm() * Math.Max(1, aw.FrobeniusNorm())));
            // And the spectrum through the reduced route equals the explicitly formed kernel's.
            var o = new NtkOptions { Importance = new TmsConfig { Features = 10 }.Importance(), Beta = 0.3 };
            var side = EmpiricalNtk.Spectrum(model, KernelReduction.FlattenClassMajor, x, 40, o);
            var dense = SymmetricEigen.Decompose(EmpiricalNtk.Compute(model, KernelReduction.FlattenClassMajor, x, options: o with { Method = NtkMethod.JacobianContraction }).Matrix, 40);
            TestUtil.AssertClose(side.ValuesArray(), dense.ValuesArray(), 1e-10, "eigenvalues");
        }

        [Test]
        public void Training_LowersLoss_AndIsDeterministic()
        {
            var a = TmsTraining.Train(Small(), new TmsTrainingOptions { Steps = 200 });
            var b = TmsTraining.Train(Small(), new TmsTrainingOptions { Steps = 200 });
            Assert.That(a.FinalLoss, Is.LessThan(0.5 * a.InitialLoss));
            Assert.That(a.Model.GetParameters(), Is.EqualTo(b.Model.GetParameters()), "bit-identical");
            var c = TmsTraining.Train(Small(seed: 4), new TmsTrainingOptions { Steps = 200 });
            Assert.That(c.Model.GetParameters(), Is.Not.EqualTo(a.Model.GetParameters()));
        }

        [Test]
        public void LossAndGradient_MatchHandComputation()
        {
            // n = 2, m = 1: W = [w0, w1], b = [b0, b1], one sample x = (x0, x1).
            double w0 = 0.7, w1 = -0.4, b0 = 0.1, b1 = 0.05, x0 = 0.6, x1 = 0.8;
            var model = TmsModel.FromWeights(Matrix.FromArray(1, 2, new[] { w0, w1 }), new[] { b0, b1 });
            var x = Matrix.FromArray(1, 2, new[] { x0, x1 });
            var imp = new[] { 1.0, 0.5 };
            double h = w0 * x0 + w1 * x1;
            double p0 = w0 * h + b0, p1 = w1 * h + b1;
            double f0 = Math.Max(p0, 0), f1 = Math.Max(p1, 0);
            double loss = (imp[0] * (f0 - x0) * (f0 - x0) + imp[1] * (f1 - x1) * (f1 - x1)) / 2;
            // dL/df_i = I_i (f_i − x_i) (2/2); dL/dp_i = that · 1[p_i > 0]
            double d0 = imp[0] * (f0 - x0) * (p0 > 0 ? 1 : 0), d1 = imp[1] * (f1 - x1) * (p1 > 0 ? 1 : 0);
            // p_i = w_i h + b_i, h = w·x: dp_i/dw_j = δ_ij h + w_i x_j
            double gw0 = d0 * (h + w0 * x0) + d1 * (w1 * x0);
            double gw1 = d0 * (w0 * x1) + d1 * (h + w1 * x1);
            var lg = TmsTraining.LossAndGradient(model, x, imp);
            Assert.That(lg.Loss, Is.EqualTo(loss).Within(1e-15));
            Assert.That(lg.Gradient.ToArray(), Is.EqualTo(new[] { gw0, gw1, d0, d1 }).Within(1e-15));
        }

        [Test]
        public void Setup_IsDeterministic_AndNormalised()
        {
            var a = Small(11);
            var b = Small(11);
            Assert.That(a.Inputs.ToArray(), Is.EqualTo(b.Inputs.ToArray()));
            Assert.That(a.InitialModel.GetParameters(), Is.EqualTo(b.InitialModel.GetParameters()));
            for (int i = 0; i < a.Inputs.Rows; i++)
            {
                double norm = Math.Sqrt(a.Inputs.Row(i).Sum(v => v * v));
                Assert.That(norm, Is.EqualTo(1).Within(1e-7).Or.EqualTo(0));
            }
            Assert.That(a.InitialModel.B, Is.All.EqualTo(0));
        }

        [Test]
        public void BadConfig_ThrowsNamingSetting()
        {
            var ex = Assert.Throws<EntkArgumentException>(() => TmsSetup.Create(new TmsConfig { Sparsity = 1.5 }, 0));
            Assert.That(ex!.ParamName, Is.EqualTo("Sparsity"));
            Assert.Throws<EntkArgumentException>(() => TmsSetup.Create(new TmsConfig { Hidden = 0 }, 0));
        }
    }

    [TestFixture]
    public class ModularMlpTests
    {
        private static ModularMlp Small(long seed = 5) => MlpSetup.Create(new MlpConfig { Modulus = 7, Width = 16 }, seed).InitialModel;

        /// <summary>Issue 4: structured traced kernels equal the generic Jacobian contraction (p = 7, H = 16) to 1e-10.</summary>
        [Test]
        public void StructuredKernels_EqualJacobianContraction()
        {
            var model = Small();
            var x = ModularMlp.AllInputs(7);
            foreach (var r in new[] { KernelReduction.TraceMean, KernelReduction.TraceSum, KernelReduction.AllPairsMean, KernelReduction.FlattenClassMajor, KernelReduction.Block(1, 3) })
            {
                var jc = EmpiricalNtk.ComputeLayerwise(model, r, x, options: new NtkOptions { Method = NtkMethod.JacobianContraction });
                var st = EmpiricalNtk.ComputeLayerwise(model, r, x, options: new NtkOptions { Method = NtkMethod.Structured });
                foreach (var g in new[] { "W1", "W2" }) TestUtil.AssertClose(st[g].Matrix, jc[g].Matrix, 1e-10, g + " " + r);
                TestUtil.AssertClose(st.Total.Matrix, jc.Total.Matrix, 1e-10, "total " + r);
            }
        }

        [Test]
        public void TracedClosedForm_MatchesPaperFormula()
        {
            var model = Small();
            var x = ModularMlp.AllInputs(7);
            var k = EmpiricalNtk.ComputeLayerwise(model, KernelReduction.TraceMean, x, options: new NtkOptions { Method = NtkMethod.Structured });
            var w1 = model.W1;
            var w2 = model.W2;
            int p = 7, h = 16, c = 7;
            double[] U(int i) => Enumerable.Range(0, h).Select(j => Enumerable.Range(0, 2 * p).Sum(q => w1[j, q] * x[i, q]) / Math.Sqrt(2 * p)).ToArray();
            var norms = Enumerable.Range(0, h).Select(j => Enumerable.Range(0, p).Sum(cc => w2[cc, j] * w2[cc, j])).ToArray();
            foreach (var (a, b) in new[] { (0, 0), (3, 17), (48, 5), (20, 20) })
            {
                var ua = U(a);
                var ub = U(b);
                double xx = TestUtil.Dot(x.Row(a), x.Row(b));
                double k2 = Enumerable.Range(0, h).Sum(j => ua[j] * ua[j] * ub[j] * ub[j]) / (h * h);
                double k1 = 4.0 / (c * h * h * 2 * p) * xx * Enumerable.Range(0, h).Sum(j => norms[j] * ua[j] * ub[j]);
                Assert.That(k["W2"][a, b], Is.EqualTo(k2).Within(1e-12 * Math.Max(1, k2)));
                Assert.That(k["W1"][a, b], Is.EqualTo(k1).Within(1e-12 * Math.Max(1, k1)));
            }
        }

        [Test]
        public void Training_GrokksSmallProblem_AndIsDeterministic()
        {
            var cfg = new MlpConfig { Modulus = 7, Width = 64, Epochs = 100 };
            var a = MlpTraining.Train(MlpSetup.Create(cfg, 1));
            var b = MlpTraining.Train(MlpSetup.Create(cfg, 1));
            Assert.That(a.Model.GetParameters(), Is.EqualTo(b.Model.GetParameters()));
            Assert.That(a.History[^1].TrainLoss, Is.LessThan(a.History[0].TrainLoss));
            Assert.That(a.History[^1].TrainAccuracy, Is.EqualTo(1.0));
            Assert.That(a.Checkpoints.Select(c => c.Epoch), Is.EqualTo(Enumerable.Range(0, 11).Select(i => 10 * i)));
        }

        [Test]
        public void Split_IsDisjointAndComplete()
        {
            var s = MlpSetup.Create(new MlpConfig { Modulus = 29, Width = 8 }, 0);
            Assert.That(s.TrainIndices.Count, Is.EqualTo(588));
            Assert.That(s.TestIndices.Count, Is.EqualTo(253));
            Assert.That(s.TrainIndices.Concat(s.TestIndices).OrderBy(v => v), Is.EqualTo(Enumerable.Range(0, 841)));
        }
    }
}
