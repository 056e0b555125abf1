using System;
using System.Linq;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Tests
{
    /// <summary>Spectra and matrix-free operators of wrapped modules (layer rules), route choice by the memory budget, budgets and refusals.</summary>
    [TestFixture]
    public sealed class RuleSpectrumTests
    {
        private static TorchModuleModel Mlp() => TorchModuleModel.Wrap(RuleModules.Mlp(5, 30, 3, 21), 5, 3, name: "mlp");   // P = 1,203

        [TestCase(KernelReductionKind.FlattenClassMajor)]
        [TestCase(KernelReductionKind.FlattenSampleMajor)]
        public void RuleOperator_EqualsFormedKernelTimesVectors_AndTrace(KernelReductionKind kind)
        {
            var r = kind == KernelReductionKind.FlattenClassMajor ? KernelReduction.FlattenClassMajor : KernelReduction.FlattenSampleMajor;
            var model = TorchModuleModel.Wrap(new RuleModules.TokenModel(7, 4, 5, 3, 22), 4, 3, name: "tokens");
            var rng = new Random(23);
            var x = Matrix.FromArray(9, 4, Enumerable.Range(0, 36).Select(_ => (double)rng.Next(7)).ToArray());
            var k = EmpiricalNtk.Compute(model, r, x, options: new NtkOptions { Method = NtkMethod.JacobianContraction }).Matrix;
            using var op = EmpiricalNtk.Operator(model, r, x, new NtkOptions { ChunkSize = 4 });
            Assert.That(op.Method, Is.EqualTo(NtkMethod.Structured));
            Assert.That(op.TensorRoutes.Count(t => t.Kind == TensorRouteKind.Generic), Is.EqualTo(1), "the positional parameter has no rule");
            var v = TestUtil.RandomMatrix(27, 5, 24);
            TestUtil.AssertClose(op.Apply(v), k.Multiply(v), 1e-10, "K·V");
            double trace = Enumerable.Range(0, 27).Sum(i => k[i, i]);
            Assert.That(op.Trace, Is.EqualTo(trace).Within(1e-10 * trace));
        }

        [Test]
        public void Spectrum_TakesTheRouteThatFits_AllRoutesAgree()
        {
            var model = Mlp();
            var x = TestUtil.RandomMatrix(200, 5, 25);
            var r = KernelReduction.FlattenClassMajor;                     // 600 × 600 < P: no parameter side
            var formed = EmpiricalNtk.Spectrum(model, r, x, 6);
            Assert.That(formed.Route, Is.EqualTo(SpectrumRoute.Dense));
            Assert.That(formed.TensorRoutes.Select(t => t.Kind), Is.All.EqualTo(TensorRouteKind.LayerRule));
            var plans = EmpiricalNtk.PlanSpectrum(model, r, x, 6, new NtkOptions(), RidgePolicy.None);
            var formedBytes = plans.Single(p => p.Name == "formed kernel").Estimate.Bytes;
            var operatorBytes = plans.Single(p => p.Name == "matrix-free layer-rule operator").Estimate.Bytes;
            Assert.That(operatorBytes, Is.LessThan(formedBytes), "this case is set up so that only the operator fits a budget between the two");
            var viaOperator = EmpiricalNtk.Spectrum(model, r, x, 6, new NtkOptions { MemoryBudgetBytes = (formedBytes + operatorBytes) / 2 });
            Assert.That(viaOperator.Route, Is.EqualTo(SpectrumRoute.Lanczos));
            TestUtil.AssertClose(viaOperator.ValuesArray(), formed.ValuesArray(), 1e-9, "eigenvalues, operator vs formed");
            var k = EmpiricalNtk.Compute(model, r, x).Matrix;
            var kv = k.Multiply(viaOperator.Vectors);
            for (int i = 0; i < 6; i++)
                for (int row = 0; row < k.Rows; row++)
                    Assert.That(kv[row, i], Is.EqualTo(viaOperator.Values[i] * viaOperator.Vectors[row, i]).Within(1e-8 * formed.Values[0]));
        }

        [Test]
        public void Spectrum_NoRouteFits_RefusesNamingEveryRouteAndItsEstimate()
        {
            var model = Mlp();
            var x = TestUtil.RandomMatrix(30, 5, 26);
            var ex = Assert.Throws<MemoryBudgetExceededException>(() => EmpiricalNtk.Spectrum(model, KernelReduction.FlattenClassMajor, x, 4, new NtkOptions { MemoryBudgetBytes = 1 }));
            Assert.That(ex!.Message, Does.Contain("formed kernel").And.Contain("matrix-free layer-rule operator").And.Contain("matrix-free NTK-vector products"));
            Assert.That(ex.BudgetBytes, Is.EqualTo(1));
        }

        [Test]
        public void Operator_OverBudget_Refuses()
        {
            var ex = Assert.Throws<MemoryBudgetExceededException>(() => EmpiricalNtk.Operator(Mlp(), KernelReduction.FlattenClassMajor, TestUtil.RandomMatrix(20, 5, 27), new NtkOptions { MemoryBudgetBytes = 100 }));
            Assert.That(ex!.Message, Does.Contain("operator"));
        }

        [Test]
        public void EstimateMemory_WrappedModule_UsesTheRuleRoute_AndSaturatesInsteadOfWrapping()
        {
            var model = Mlp();
            var est = EmpiricalNtk.EstimateMemory(model, KernelReduction.TraceMean, 100);
            Assert.That(est.Bytes, Is.GreaterThan(8L * 100 * 100 * 2));
            Assert.That(est.Formula, Does.Contain("layer factors"));
            torch.random.manual_seed(28);
            var wide = TorchModuleModel.Wrap(nn.Sequential(("0", nn.Linear(1, 1_000_000, dtype: ScalarType.Float64)), ("1", nn.Tanh()), ("2", nn.Linear(1_000_000, 2, dtype: ScalarType.Float64))), 1, 2, name: "wide");
            var huge = EmpiricalNtk.EstimateMemory(wide, KernelReduction.FlattenClassMajor, 1_000_000_000, options: new NtkOptions { Method = NtkMethod.JacobianContraction });
            Assert.That(huge.Bytes, Is.GreaterThan(0).And.EqualTo(long.MaxValue), "an overflowing estimate saturates (never wraps negative)");
            Assert.Throws<MemoryBudgetExceededException>(() => EmpiricalNtk.Compute(wide, KernelReduction.TraceMean, TestUtil.RandomMatrix(1000, 1, 29), options: new NtkOptions { Method = NtkMethod.JacobianContraction }));
        }

        [Test]
        public void Lanczos_OnAUserOperator_FromFunction()
        {
            var a = TestUtil.RandomSymmetric(30, 30);
            using var op = KernelOperator.FromFunction(30, v => a.Multiply(v), double.NaN, "test matrix");
            var top = Lanczos.TopK(op, 3, new LanczosOptions { BlockSize = 1 });
            var dense = SymmetricEigen.Decompose(a);
            // Lanczos finds the largest (algebraic) eigenvalues.
            TestUtil.AssertClose(top.ValuesArray(), dense.ValuesArray().Take(3).ToArray(), 1e-9, "top-3");
            Assert.That(top.Applications, Is.GreaterThan(0));
            var bad = KernelOperator.FromFunction(30, v => Matrix.Zeros(29, v.Columns), double.NaN);
            Assert.Throws<ShapeMismatchException>(() => bad.Apply(TestUtil.RandomMatrix(30, 1, 31)));
        }

        [Test]
        public void Lanczos_BasisOverBudget_Refused()
        {
            var a = TestUtil.RandomSymmetric(200, 32);
            using var op = KernelOperator.FromMatrix(a);
            var ex = Assert.Throws<MemoryBudgetExceededException>(() => Lanczos.TopK(op, 20, new LanczosOptions { MemoryBudgetBytes = 10_000 }));
            Assert.That(ex!.EstimateBytes, Is.EqualTo(Lanczos.EstimateBytes(200, 20)));
        }

        private sealed class Overflowing : nn.Module<Tensor, Tensor>
        {
            private readonly TorchSharp.Modules.Linear lin = nn.Linear(2, 2, dtype: ScalarType.Float64);

            public Overflowing() : base("Overflowing")
            {
                using (torch.no_grad())
                {
                    lin.weight!.fill_(1.0);      // exp(exp(exp(100))) overflows at x = (50, 50)
                    lin.bias!.zero_();
                }
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => lin.call(x).exp().exp().exp();
        }

        [Test]
        public void Compute_NonFiniteKernel_ThrowsInsteadOfReturningNaN()
        {
            var model = TorchModuleModel.Wrap(new Overflowing(), 2, 2, name: "overflow");
            var x = Matrix.FromArray(2, 2, new[] { 50.0, 50, 1, 1 });
            foreach (var m in new[] { NtkMethod.Structured, NtkMethod.JacobianContraction })
                Assert.Throws<NonFiniteValueException>(() => EmpiricalNtk.Compute(model, KernelReduction.TraceMean, x, options: new NtkOptions { Method = m }), m.ToString());
        }
    }
}
