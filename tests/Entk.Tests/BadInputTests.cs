using System;
using System.Linq;
using Entk.Kernels;
using Entk.Linalg;
using Entk.Models;
using NUnit.Framework;

namespace Entk.Tests
{
    [TestFixture]
    public class BadInputTests
    {
        private static readonly DenseNetwork Net = DenseNetwork.CreateRandom(new[] { 3, 4, 2 }, Activation.Tanh, seed: 1);

        [Test]
        public void WrongInputWidth_ThrowsShapeMismatchNamingArgument()
        {
            var ex = Assert.Throws<ShapeMismatchException>(() => EmpiricalNtk.Compute(Net, KernelReduction.TraceMean, TestUtil.RandomMatrix(4, 2, 1)));
            Assert.That(ex!.ParamName, Is.EqualTo("x1"));
            Assert.That(ex.Message, Does.Contain("[*, 3]").And.Contain("[4, 2]"));
            var ex2 = Assert.Throws<ShapeMismatchException>(() => EmpiricalNtk.Compute(Net, KernelReduction.TraceMean, TestUtil.RandomMatrix(4, 3, 1), TestUtil.RandomMatrix(2, 5, 1)));
            Assert.That(ex2!.ParamName, Is.EqualTo("x2"));
        }

        [Test]
        public void EmptyInputSet_Throws()
        {
            var ex = Assert.Throws<EntkArgumentException>(() => EmpiricalNtk.Compute(Net, KernelReduction.TraceMean, Matrix.Zeros(0, 3)));
            Assert.That(ex!.ParamName, Is.EqualTo("x1"));
        }

        [Test]
        public void NonFiniteParameters_AreRejectedAtConstruction()
        {
            var theta = Net.GetParameters();
            theta[5] = double.NaN;
            var ex = Assert.Throws<NonFiniteValueException>(() => Net.WithParameters(theta));
            Assert.That(ex!.Message, Does.Contain("layer0.weight[5]"));
            theta[5] = double.PositiveInfinity;
            Assert.Throws<NonFiniteValueException>(() => DenseNetwork.FromParameters(new[] { 3, 4, 2 }, Activation.Tanh, theta));
        }

        [Test]
        public void NonFiniteInputs_AreRejected()
        {
            var d = TestUtil.RandomMatrix(2, 3, 1).ToArray();
            d[4] = double.NegativeInfinity;
            var ex = Assert.Throws<NonFiniteValueException>(() => Net.Evaluate(Matrix.FromArray(2, 3, d)));
            Assert.That(ex!.Message, Does.Contain("[1, 1]"));
        }

        [Test]
        public void WrongParameterCount_Throws()
        {
            var ex = Assert.Throws<ShapeMismatchException>(() => Net.WithParameters(new double[3]));
            Assert.That(ex!.Message, Does.Contain("[" + Net.ParameterCount + "]"));
        }

        [Test]
        public void TopKLargerThanN_Throws()
        {
            var ex = Assert.Throws<EntkArgumentException>(() => SymmetricEigen.Decompose(Matrix.Identity(3), 4));
            Assert.That(ex!.ParamName, Is.EqualTo("topK"));
            Assert.Throws<EntkArgumentException>(() => SymmetricEigen.Decompose(Matrix.Identity(3), 0));
        }

        [Test]
        public void NonSquareOrAsymmetric_Throws()
        {
            Assert.Throws<ShapeMismatchException>(() => SymmetricEigen.Decompose(Matrix.Zeros(2, 3)));
            var ex = Assert.Throws<EntkArgumentException>(() => SymmetricEigen.Decompose(Matrix.FromArray(2, 2, new[] { 1.0, 2.0, 3.0, 4.0 })));
            Assert.That(ex!.Message, Does.Contain("symmetric"));
        }

        [Test]
        public void UnknownGroupName_Throws()
        {
            var ex = Assert.Throws<EntkArgumentException>(() => EmpiricalNtk.ComputeLayerwise(Net, KernelReduction.TraceMean, TestUtil.RandomMatrix(2, 3, 1),
                groups: new[] { ParameterGroup.Of("g", "layer9.weight") }));
            Assert.That(ex!.ParamName, Is.EqualTo("groups"));
            Assert.That(ex.Message, Does.Contain("layer9.weight").And.Contain("layer0.weight"));
            Assert.Throws<EntkArgumentException>(() => EmpiricalNtk.ComputeLayerwise(Net, KernelReduction.TraceMean, TestUtil.RandomMatrix(2, 3, 1),
                groups: new[] { ParameterGroup.Of("a", "layer0.weight"), ParameterGroup.Of("b", "layer0.weight") }));
        }

        [Test]
        public void MlpAnalysis_TopKTooSmallForTwoCliffs_ThrowsNamingOption()
        {
            var trained = Training.MlpTraining.Train(Training.MlpSetup.Create(new Training.MlpConfig { Modulus = 7, Width = 16, Epochs = 10 }, 0));
            var o = new Experiments.MlpAnalysisOptions { TopK = 5 };
            var e1 = Assert.Throws<EntkArgumentException>(() => Experiments.MlpExperiment.Analyze(trained, o))!;
            var e2 = Assert.Throws<EntkArgumentException>(() => Experiments.MlpExperiment.AnalyzeGrokking(trained, o))!;
            foreach (var e in new[] { e1, e2 })
            {
                Assert.That(e.ParamName, Is.EqualTo("options.TopK"));
                Assert.That(e.Actual, Is.EqualTo("5"));
            }
        }

        [Test]
        public void ImpossibleOptions_Throw()
        {
            var x = TestUtil.RandomMatrix(2, 3, 1);
            Assert.Throws<EntkArgumentException>(() => EmpiricalNtk.Compute(Net, KernelReduction.TraceMean, x, options: new NtkOptions { Beta = 1 }));
            Assert.Throws<ShapeMismatchException>(() => EmpiricalNtk.Compute(Net, KernelReduction.TraceMean, x, options: new NtkOptions { Beta = 1, Importance = new[] { 1.0 } }));
            Assert.Throws<EntkArgumentException>(() => EmpiricalNtk.Compute(Net, KernelReduction.TraceMean, x, options: new NtkOptions { Beta = 1, Importance = new[] { 1.0, -2.0 } }));
            Assert.Throws<EntkArgumentException>(() => EmpiricalNtk.Compute(Net, KernelReduction.Block(0, 2), x));
            Assert.Throws<EntkArgumentException>(() => EmpiricalNtk.Compute(Net, KernelReduction.TraceMean, x, options: new NtkOptions { MemoryBudgetBytes = -1 }));
        }

        [Test]
        public void StructuredOnWrappedModuleWithoutRules_ThrowsNamingTheMethod()
        {
            var wrapped = TorchModuleModel.Wrap(new TorchModules.RawParameterModule(3, 2), 3, 2);
            var ex = Assert.Throws<EntkArgumentException>(() => EmpiricalNtk.Compute(wrapped, KernelReduction.TraceMean, TestUtil.RandomMatrix(2, 3, 1), options: new NtkOptions { Method = NtkMethod.Structured }));
            Assert.That(ex!.ParamName, Is.EqualTo("options.Method"));
        }

        [Test]
        public void OverBudget_RefusesBeforeAllocating_WithEstimateAndAlternatives()
        {
            var x = TestUtil.RandomMatrix(50, 3, 1);
            var ex = Assert.Throws<MemoryBudgetExceededException>(() => EmpiricalNtk.Compute(Net, KernelReduction.FlattenClassMajor, x, options: new NtkOptions { MemoryBudgetBytes = 10_000 }));
            Assert.That(ex!.EstimateBytes, Is.GreaterThan(10_000));
            Assert.That(ex.Message, Does.Contain("TraceMean").And.Contain("MemoryBudgetBytes"));
        }

        [Test]
        public void WrappedModule_ModeAndParametersRestored()
        {
            var module = TorchModules.DenseEquivalent(DenseNetwork.CreateRandom(new[] { 3, 4, 2 }, Activation.Relu, 3));
            module.train();
            var first = module.parameters().First();
            first.requires_grad_(false);
            var wrapped = TorchModuleModel.Wrap(module, 3, 2);
            var before = wrapped.GetParameters();
            EmpiricalNtk.Compute(wrapped, KernelReduction.TraceMean, TestUtil.RandomMatrix(3, 3, 1));
            EmpiricalNtk.Compute(wrapped, KernelReduction.TraceMean, TestUtil.RandomMatrix(3, 3, 1), options: new NtkOptions { Method = NtkMethod.NtkVectorProducts });
            Assert.That(module.training, Is.True, "train mode restored");
            Assert.That(first.requires_grad, Is.False, "requires_grad restored");
            Assert.That(wrapped.GetParameters(), Is.EqualTo(before));
        }
    }
}
