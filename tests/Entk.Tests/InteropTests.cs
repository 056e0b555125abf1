using System;
using Entk;
using MathNet.Numerics.LinearAlgebra;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Tests
{
    /// <summary>Matrix ↔ TorchSharp Tensor and Matrix ↔ MathNet Matrix&lt;double&gt;: values, layout, and that both directions copy.</summary>
    [TestFixture]
    public class InteropTests
    {
        private static readonly Matrix A = Matrix.FromArray(2, 3, new[] { 1.0, 2.0, 3.0, 4.0, 5.0, 6.5 });

        [Test]
        public void ToTensor_IsAFloat64CopyOfShapeRowsByColumns()
        {
            using var t = A.ToTensor();
            Assert.That(t.shape, Is.EqualTo(new long[] { 2, 3 }));
            Assert.That(t.dtype, Is.EqualTo(ScalarType.Float64));
            Assert.That(t.requires_grad, Is.False);
            Assert.That(t[1, 2].item<double>(), Is.EqualTo(6.5));
            t[0, 0] = torch.tensor(100.0);                           // the tensor owns its storage
            Assert.That(A[0, 0], Is.EqualTo(1.0));
            using var t2 = A.ToTensor();
            Assert.That(t2[0, 0].item<double>(), Is.EqualTo(1.0), "a second tensor is unaffected");
        }

        [Test]
        public void ToEntkMatrix_CopiesAndConverts()
        {
            using var scope = torch.NewDisposeScope();
            var t = torch.arange(6, ScalarType.Float32).reshape(2, 3);
            var m = t.ToEntkMatrix();
            Assert.That(m.ToArray(), Is.EqualTo(new[] { 0.0, 1, 2, 3, 4, 5 }));
            t.add_(10);                                               // later changes to the tensor do not reach the matrix
            Assert.That(m[1, 2], Is.EqualTo(5.0));
            var transposed = t.t();                                   // not contiguous
            Assert.That(transposed.ToEntkMatrix().ToArray2D(), Is.EqualTo(new double[,] { { 10, 13 }, { 11, 14 }, { 12, 15 } }));
            var withGrad = torch.ones(2, 2, ScalarType.Float64).requires_grad_(true);
            Assert.That(withGrad.ToEntkMatrix().ToArray(), Is.EqualTo(new[] { 1.0, 1, 1, 1 }));
            Assert.That(torch.arange(4, ScalarType.Int64).reshape(2, 2).ToEntkMatrix()[1, 1], Is.EqualTo(3.0));
        }

        [Test]
        public void RoundTrip_ThroughATensor_IsExact()
        {
            var x = TestUtil.RandomMatrix(7, 4, 3);
            using var t = x.ToTensor();
            Assert.That(t.ToEntkMatrix().ToArray(), Is.EqualTo(x.ToArray()));
        }

        [Test]
        public void ToEntkMatrix_RejectsBadTensorsWithTypedErrors()
        {
            using var scope = torch.NewDisposeScope();
            var e1 = Assert.Throws<ShapeMismatchException>(() => torch.zeros(3).ToEntkMatrix());
            Assert.That(e1!.ParamName, Is.EqualTo("tensor"));
            Assert.That(e1.Actual, Is.EqualTo("shape [3]"));
            Assert.Throws<ShapeMismatchException>(() => torch.zeros(2, 2, 2).ToEntkMatrix());
            var e2 = Assert.Throws<EntkArgumentException>(() => torch.zeros(2, 2, ScalarType.ComplexFloat64).ToEntkMatrix());
            Assert.That(e2!.Actual, Does.Contain("ComplexFloat64"));
            Assert.Throws<EntkArgumentException>(() => torch.zeros(2, 2, ScalarType.Bool).ToEntkMatrix());
            Assert.Throws<ArgumentNullException>(() => ((Tensor)null!).ToEntkMatrix());
            Assert.Throws<ArgumentNullException>(() => ((Matrix)null!).ToTensor());
        }

        [Test]
        public void ToMathNet_KeepsElementPositionsAndCopies()
        {
            var m = A.ToMathNet();
            Assert.That((m.RowCount, m.ColumnCount), Is.EqualTo((2, 3)));
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    Assert.That(m[i, j], Is.EqualTo(A[i, j]));
            m[0, 0] = -1;
            Assert.That(A[0, 0], Is.EqualTo(1.0));
            Assert.That(A.ToMathNet()[0, 0], Is.EqualTo(1.0));
        }

        [Test]
        public void ToEntkMatrix_FromMathNet_CopiesDenseAndSparse()
        {
            var dense = Matrix<double>.Build.DenseOfArray(new double[,] { { 1, 2, 3 }, { 4, 5, 6.5 } });
            var m = dense.ToEntkMatrix();
            Assert.That(m.ToArray(), Is.EqualTo(A.ToArray()));
            dense[1, 2] = 0;
            Assert.That(m[1, 2], Is.EqualTo(6.5));
            var sparse = Matrix<double>.Build.Sparse(3, 2);
            sparse[2, 1] = 7;
            Assert.That(sparse.ToEntkMatrix().ToArray2D(), Is.EqualTo(new double[,] { { 0, 0 }, { 0, 0 }, { 0, 7 } }));
            var x = TestUtil.RandomMatrix(5, 9, 4);
            Assert.That(x.ToMathNet().ToEntkMatrix().ToArray(), Is.EqualTo(x.ToArray()), "round trip");
            Assert.Throws<ArgumentNullException>(() => ((Matrix<double>)null!).ToEntkMatrix());
        }

        [Test]
        public void MathNetAndEntk_AgreeOnAProduct()
        {
            var x = TestUtil.RandomMatrix(6, 4, 5);
            var y = TestUtil.RandomMatrix(4, 3, 6);
            TestUtil.AssertClose((x.ToMathNet() * y.ToMathNet()).ToEntkMatrix(), x.Multiply(y), 1e-15);
        }
    }
}
