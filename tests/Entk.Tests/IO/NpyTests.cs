using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Tests.IO
{
    [TestFixture]
    public class NpyTests
    {
        private string _dir = "";

        [OneTimeSetUp]
        public void SetUp() => _dir = IoTestUtil.NewTempDir("npy");

        [OneTimeTearDown]
        public void TearDown() => IoTestUtil.DeleteDir(_dir);

        private string P(string name) => Path.Combine(_dir, name);

        public static IEnumerable<TestCaseData> TypeAndShape()
        {
            foreach (var t in IoTestUtil.AllTypes)
                foreach (var s in IoTestUtil.ShapesRank0To3)
                    yield return new TestCaseData(t, s).SetName("RoundTrip_" + t + "_[" + string.Join(",", s) + "]");
        }

        [TestCaseSource(nameof(TypeAndShape))]
        public void RoundTrip_EveryTypeAndRank(ElementType type, int[] shape)
        {
            var a = IoTestUtil.Random(type, 17, shape);
            string p = P("rt-" + type + "-" + string.Join("x", shape) + ".npy");
            Npy.Write(p, a);
            var b = Npy.Read(p);
            Assert.That(b.ElementType, Is.EqualTo(type));
            Assert.That(b.Shape, Is.EqualTo(shape));
            Assert.That(b.ContentEquals(a), Is.True);

            // Header: v1.0, data offset a multiple of 64, ends with '\n', exactly as numpy lays it out.
            var bytes = File.ReadAllBytes(p);
            int hlen = bytes[8] | (bytes[9] << 8);
            Assert.That(bytes[6], Is.EqualTo(1));
            Assert.That((10 + hlen) % 64, Is.EqualTo(0));
            Assert.That(bytes[10 + hlen - 1], Is.EqualTo((byte)'\n'));
            Assert.That(bytes.Length, Is.EqualTo(10 + hlen + (long)a.ElementCount * a.ItemSize));
        }

        [Test]
        public void Header_MatchesNumpyTextExactly()
        {
            var h = Encoding.Latin1.GetString(Npy.BuildHeader(IoTestUtil.Formula(ElementType.Float64, 3, 4)));
            Assert.That(h, Does.StartWith("\u0093NUMPY\u0001\u0000v\u0000{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"));
            Assert.That(h.Length, Is.EqualTo(128));
            Assert.That(Encoding.ASCII.GetString(Npy.BuildHeader(NdArray.Scalar(1))), Does.Contain("'shape': (), }"));
            Assert.That(Encoding.ASCII.GetString(Npy.BuildHeader(NdArray.FromVector(new[] { 1.0 }))), Does.Contain("'shape': (1,), }"));
            Assert.That(Encoding.ASCII.GetString(Npy.BuildHeader(IoTestUtil.Formula(ElementType.Bool, 2))), Does.Contain("'descr': '|b1'"));
        }

        [Test]
        public void LargeArray_IsStreamedInChunks()
        {
            var a = IoTestUtil.Random(ElementType.Float64, 3, 300_001);
            Npy.Write(P("large.npy"), a);
            Assert.That(Npy.Read(P("large.npy")).ContentEquals(a), Is.True);
            var bools = IoTestUtil.Random(ElementType.Bool, 3, 2_100_000);
            Npy.Write(P("large-bool.npy"), bools);
            Assert.That(Npy.Read(P("large-bool.npy")).ContentEquals(bools), Is.True);
        }

        [Test]
        public void StreamVariants_ReadConsecutiveArrays()
        {
            var a = IoTestUtil.Formula(ElementType.Int32, 2, 2);
            var b = IoTestUtil.Formula(ElementType.Float32, 3);
            using var ms = new MemoryStream();
            Npy.Write(ms, a);
            Npy.Write(ms, b);
            ms.Position = 0;
            Assert.That(Npy.Read(ms).ContentEquals(a), Is.True);
            Assert.That(Npy.Read(ms).ContentEquals(b), Is.True);
            Assert.That(ms.Position, Is.EqualTo(ms.Length));
            var ex = Assert.Throws<EntkFormatException>(() => Npy.Read(ms, "my-stream"));
            Assert.That(ex!.Path, Is.EqualTo("my-stream"));
        }

        [Test]
        public void MatrixAndVectorHelpers()
        {
            var m = TestUtil.RandomMatrix(4, 3, 1);
            Npy.WriteMatrix(P("m.npy"), m);
            Assert.That(Npy.ReadMatrix(P("m.npy")).MaxAbsDifference(m), Is.EqualTo(0.0));
            Npy.WriteVector(P("v.npy"), new[] { 1.5, -2.0, 3.25 });
            Assert.That(Npy.ReadVector(P("v.npy")), Is.EqualTo(new[] { 1.5, -2.0, 3.25 }));
            Npy.Write(P("v32.npy"), NdArray.FromSingles(new[] { 0.1f, 2f }, 2));
            Assert.That(Npy.ReadVector(P("v32.npy")), Is.EqualTo(new[] { (double)0.1f, 2.0 }), "float32 is promoted exactly");

            var notMatrix = IoTestUtil.AssertFormatError(() => Npy.ReadMatrix(P("v.npy")), P("v.npy"));
            Assert.That(notMatrix.Message, Does.Contain("2-D").And.Contain("[3]"));
            var notVector = IoTestUtil.AssertFormatError(() => Npy.ReadVector(P("m.npy")), P("m.npy"));
            Assert.That(notVector.Message, Does.Contain("1-D").And.Contain("[4, 3]"));
        }

        [Test]
        public void Write_DoesNotOverwriteWithoutFlag()
        {
            string p = P("exists.npy");
            Npy.Write(p, NdArray.Scalar(1));
            var before = File.ReadAllBytes(p);
            var ex = Assert.Throws<OutputExistsException>(() => Npy.Write(p, NdArray.Scalar(2)));
            Assert.That(ex!.Path, Is.EqualTo(Path.GetFullPath(p)));
            Assert.That(File.ReadAllBytes(p), Is.EqualTo(before));
            Assert.Throws<OutputExistsException>(() => Npy.WriteMatrix(p, Matrix.Identity(2)));
            Assert.Throws<OutputExistsException>(() => Npy.WriteVector(p, new[] { 1.0 }));
            Npy.Write(p, NdArray.Scalar(2), overwrite: true);
            Assert.That(Npy.Read(p).ToDoubleArray(), Is.EqualTo(new[] { 2.0 }));
        }

        /// <summary>Builds a .npy file from a header dict text and raw data (numpy's padding).</summary>
        internal static byte[] Craft(string dict, byte[] data, int major = 1)
        {
            var text = Encoding.Latin1.GetBytes(dict);
            if (major == 3) text = Encoding.UTF8.GetBytes(dict);
            int lenField = major == 1 ? 2 : 4;
            int hlen = text.Length + 1;
            int pad = 64 - ((8 + lenField + hlen) % 64);
            var ms = new MemoryStream();
            ms.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 });
            int body = hlen + pad;
            if (lenField == 2) ms.Write(new[] { (byte)body, (byte)(body >> 8) });
            else ms.Write(BitConverter.GetBytes(body));
            ms.Write(text);
            ms.Write(Enumerable.Repeat((byte)' ', pad).ToArray());
            ms.WriteByte((byte)'\n');
            ms.Write(data);
            return ms.ToArray();
        }

        private static byte[] Doubles(params double[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

        [Test]
        public void FortranOrder_IsReorderedToCOrder()
        {
            // Element (i, j, k) of a 2×3×4 array has value 100i + 10j + k; Fortran order stores i fastest.
            var fortran = new List<double>();
            for (int k = 0; k < 4; k++)
                for (int j = 0; j < 3; j++)
                    for (int i = 0; i < 2; i++)
                        fortran.Add(100 * i + 10 * j + k);
            File.WriteAllBytes(P("f.npy"), Craft("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }", Doubles(fortran.ToArray())));
            var a = Npy.Read(P("f.npy"));
            var expected = new List<double>();
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    for (int k = 0; k < 4; k++)
                        expected.Add(100 * i + 10 * j + k);
            Assert.That(a.Shape, Is.EqualTo(new[] { 2, 3, 4 }));
            Assert.That(a.ToDoubleArray(), Is.EqualTo(expected.ToArray()));

            File.WriteAllBytes(P("f2.npy"), Craft("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }",
                new[] { 0, 3, 1, 4, 2, 5 }.SelectMany(BitConverter.GetBytes).ToArray()));
            Assert.That(Npy.ReadMatrix(P("f2.npy")).ToArray(), Is.EqualTo(new[] { 0.0, 1, 2, 3, 4, 5 }));
        }

        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 1)]
        [TestCase("{\"shape\": (2,), \"descr\": \"<f8\", \"fortran_order\": False}", 1)]
        [TestCase("{ 'descr' : '<f8' ,\t'fortran_order':False,'shape':( 2 , ) }", 1)]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2L,), }", 1)]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 2)]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 3)]
        public void HeaderVariants_AndVersions_AreAccepted(string dict, int major)
        {
            string p = P("variant-" + Guid.NewGuid().ToString("N") + ".npy");
            File.WriteAllBytes(p, Craft(dict, Doubles(1.5, -2.5), major));
            Assert.That(Npy.Read(p).ToDoubleArray(), Is.EqualTo(new[] { 1.5, -2.5 }));
        }

        [Test]
        public void HugeDeclaredShape_IsRejectedWithoutAllocating()
        {
            File.WriteAllBytes(P("huge.npy"), Craft("{'descr': '<f8', 'fortran_order': False, 'shape': (2000000000, 2000000000), }", Doubles(1)));
            var ex = IoTestUtil.AssertFormatError(() => Npy.Read(P("huge.npy")), P("huge.npy"));
            Assert.That(ex.Message, Does.Contain("more elements"));
            File.WriteAllBytes(P("big.npy"), Craft("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000,), }", Doubles(1)));
            ex = IoTestUtil.AssertFormatError(() => Npy.Read(P("big.npy")), P("big.npy"));
            Assert.That(ex.Message, Does.Contain("truncated").And.Contain("800000000"));
        }

        [Test]
        public void MissingFile_ThrowsFileNotFound()
        {
            Assert.Throws<FileNotFoundException>(() => Npy.Read(P("nope.npy")));
        }
    }
}
