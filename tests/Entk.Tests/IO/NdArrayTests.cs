using System;
using System.Linq;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Tests.IO
{
    [TestFixture]
    public class NdArrayTests
    {
        [Test]
        public void Factories_CopyData_AndAccessorsReturnCopies()
        {
            var src = new[] { 1.0, 2, 3, 4, 5, 6 };
            var a = NdArray.FromDoubles(src, 2, 3);
            src[0] = 99;
            Assert.That(a.ToDoubleArray()[0], Is.EqualTo(1.0));
            a.ToDoubleArray()[1] = 42;
            Assert.That(a.ToDoubleArray()[1], Is.EqualTo(2.0));
            Assert.That(a.Shape, Is.EqualTo(new[] { 2, 3 }));
            Assert.That(a.Rank, Is.EqualTo(2));
            Assert.That(a.ElementCount, Is.EqualTo(6));
            Assert.That(a.Descr, Is.EqualTo("<f8"));
            Assert.That(a.ToString(), Is.EqualTo("NdArray float64 [2, 3]"));
            Assert.That(a.Shape, Is.Not.InstanceOf<int[]>(), "the shape cannot be cast back to a mutable array");
        }

        [Test]
        public void EmptyShape_IsAScalar_AndAMissingShapeGivesAClearError()
        {
            var s = NdArray.FromDoubles(new[] { 2.5 });
            Assert.That(s.Rank, Is.EqualTo(0));
            Assert.That(NdArray.Scalar(2.5).ContentEquals(s), Is.True);
            var ex = Assert.Throws<ShapeMismatchException>(() => NdArray.FromDoubles(new[] { 1.0, 2, 3 }));
            Assert.That(ex!.ParamName, Is.EqualTo("data"));
            Assert.That(ex.Message, Does.Contain("[1]").And.Contain("[3]").And.Contain("0-D scalar"));
        }

        [Test]
        public void InvalidShapes_AreRejected()
        {
            Assert.Throws<ShapeMismatchException>(() => NdArray.FromInt64s(new long[5], 2, 3));
            var neg = Assert.Throws<EntkArgumentException>(() => NdArray.FromInt32s(new int[0], -1, 0));
            Assert.That(neg!.ParamName, Is.EqualTo("shape"));
            Assert.Throws<EntkArgumentException>(() => NdArray.FromBytes(new byte[1], Enumerable.Repeat(1, 33).ToArray()));
            Assert.That(NdArray.FromBytes(new byte[1], Enumerable.Repeat(1, 32).ToArray()).Rank, Is.EqualTo(32));
            Assert.Throws<ArgumentNullException>(() => NdArray.FromDoubles(null!, 1));
        }

        [Test]
        public void Conversions_AreExactOrRefused()
        {
            Assert.That(NdArray.FromSingles(new[] { 0.1f }, 1).ToDoubleArray()[0], Is.EqualTo((double)0.1f));
            Assert.That(NdArray.FromBools(new[] { true, false }, 2).ToDoubleArray(), Is.EqualTo(new[] { 1.0, 0.0 }));
            Assert.That(NdArray.FromBytes(new byte[] { 255 }, 1).ToInt64Array(), Is.EqualTo(new[] { 255L }));
            Assert.That(NdArray.FromInt64s(new[] { 1L << 53 }, 1).ToDoubleArray()[0], Is.EqualTo(9007199254740992.0));
            var inexact = Assert.Throws<InvalidOperationException>(() => NdArray.FromInt64s(new[] { (1L << 53) + 1 }, 1).ToDoubleArray());
            Assert.That(inexact!.Message, Does.Contain("9007199254740993"));
            Assert.Throws<InvalidOperationException>(() => NdArray.FromInt64s(new[] { long.MaxValue }, 1).ToDoubleArray());
            Assert.That(NdArray.FromInt64s(new[] { long.MinValue }, 1).ToDoubleArray()[0], Is.EqualTo(-9223372036854775808.0));
            Assert.Throws<InvalidOperationException>(() => NdArray.FromDoubles(new[] { 1.5 }, 1).ToInt64Array());
            Assert.Throws<InvalidOperationException>(() => NdArray.FromInt64s(new[] { 1L << 40 }, 1).ToInt32Array());
            Assert.Throws<InvalidOperationException>(() => NdArray.FromDoubles(new[] { 1.0 }, 1).ToBoolArray());
            Assert.Throws<InvalidOperationException>(() => NdArray.FromDoubles(new[] { 1.0 }, 1).ToByteArray());
            Assert.Throws<InvalidOperationException>(() => NdArray.FromDoubles(new[] { 1.0 }, 1).ToSingleArray());
        }

        [Test]
        public void MatrixAndVector_RoundTrip()
        {
            var m = TestUtil.RandomMatrix(3, 4, 7);
            var a = NdArray.FromMatrix(m);
            Assert.That(a.Shape, Is.EqualTo(new[] { 3, 4 }));
            Assert.That(a.ToMatrix().MaxAbsDifference(m), Is.EqualTo(0.0));
            var ex = Assert.Throws<InvalidOperationException>(() => NdArray.FromVector(new[] { 1.0, 2 }).ToMatrix());
            Assert.That(ex!.Message, Does.Contain("[2]"));
            Assert.That(NdArray.FromVector(new[] { 1.0, 2 }).Shape, Is.EqualTo(new[] { 2 }));
        }

        [Test]
        public void Reshape_KeepsOrder_AndChecksCount()
        {
            var a = IoTestUtil.Formula(ElementType.Int32, 2, 3);
            var r = a.Reshape(3, 2);
            Assert.That(r.ToInt32Array(), Is.EqualTo(a.ToInt32Array()));
            Assert.That(r.Shape, Is.EqualTo(new[] { 3, 2 }));
            Assert.Throws<ShapeMismatchException>(() => a.Reshape(4));
        }

        [Test]
        public void ContentEquals_IsBitwise()
        {
            var a = NdArray.FromDoubles(new[] { double.NaN, 0.0 }, 2);
            Assert.That(a.ContentEquals(NdArray.FromDoubles(new[] { double.NaN, 0.0 }, 2)), Is.True);
            Assert.That(a.ContentEquals(NdArray.FromDoubles(new[] { double.NaN, -0.0 }, 2)), Is.False);
            Assert.That(a.ContentEquals(NdArray.FromDoubles(new[] { double.NaN, 0.0 }, 1, 2)), Is.False);
            Assert.That(a.ContentEquals(NdArray.FromSingles(new[] { float.NaN, 0f }, 2)), Is.False);
            Assert.That(a.ContentEquals(null), Is.False);
        }

        [Test]
        public void NamedArray_RejectsEmptyName()
        {
            Assert.Throws<EntkArgumentException>(() => new NamedArray("", NdArray.Scalar(1)));
            Assert.That(new NamedArray("W", NdArray.Scalar(1)).ToString(), Is.EqualTo("W: NdArray float64 []"));
        }
    }
}
