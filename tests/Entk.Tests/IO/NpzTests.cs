using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Entk.Internal;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Tests.IO
{
    [TestFixture]
    public class NpzTests
    {
        private string _dir = "";

        [OneTimeSetUp]
        public void SetUp() => _dir = IoTestUtil.NewTempDir("npz");

        [OneTimeTearDown]
        public void TearDown() => IoTestUtil.DeleteDir(_dir);

        private string P(string name) => Path.Combine(_dir, name);

        private static List<NamedArray> AllTypesAllRanks()
        {
            var list = new List<NamedArray>();
            int k = 0;
            foreach (var t in IoTestUtil.AllTypes)
                foreach (var s in IoTestUtil.ShapesRank0To3)
                    list.Add(new NamedArray("a" + (k++) + "_" + t, IoTestUtil.Random(t, k, s)));
            return list;
        }

        [TestCase(false)]
        [TestCase(true)]
        public void RoundTrip_KeepsOrderTypesAndShapes(bool compress)
        {
            var arrays = AllTypesAllRanks();
            string p = P("rt-" + compress + ".npz");
            Npz.Write(p, arrays, compress: compress);
            var z = Npz.Read(p);
            Assert.That(z.Names, Is.EqualTo(arrays.Select(a => a.Name)));
            Assert.That(z.Count, Is.EqualTo(arrays.Count));
            foreach (var a in arrays)
            {
                Assert.That(z.ContainsKey(a.Name), Is.True);
                Assert.That(z[a.Name].ContentEquals(a.Array), Is.True, a.Name);
            }
            using var zip = ZipFile.OpenRead(p);
            Assert.That(zip.Entries.Select(e => e.FullName), Is.EqualTo(arrays.Select(a => a.Name + ".npy")));
            bool stored = zip.Entries.All(e => e.CompressedLength == e.Length);
            Assert.That(stored, Is.EqualTo(!compress));
        }

        [Test]
        public void DictionaryOverload_KeepsInsertionOrder()
        {
            var d = new Dictionary<string, NdArray>
            {
                ["zeta"] = NdArray.Scalar(1),
                ["alpha"] = NdArray.Scalar(2),
                ["mid"] = NdArray.Scalar(3),
            };
            Npz.Write(P("dict.npz"), d);
            Assert.That(Npz.Read(P("dict.npz")).Names, Is.EqualTo(new[] { "zeta", "alpha", "mid" }));
        }

        [Test]
        public void Output_IsDeterministic_AndCrcsAreCorrect()
        {
            var arrays = AllTypesAllRanks();
            Npz.Write(P("det1.npz"), arrays);
            Npz.Write(P("det2.npz"), arrays);
            Assert.That(File.ReadAllBytes(P("det1.npz")), Is.EqualTo(File.ReadAllBytes(P("det2.npz"))));
            // The table-driven CRC-32 agrees with the CRCs .NET wrote and with the standard check value.
            Assert.That(Crc32.Compute(System.Text.Encoding.ASCII.GetBytes("123456789")), Is.EqualTo(0xCBF43926u));
            using var zip = ZipFile.OpenRead(P("det1.npz"));
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                var ms = new MemoryStream();
                s.CopyTo(ms);
                Assert.That(Crc32.Compute(ms.ToArray()), Is.EqualTo(e.Crc32), e.FullName);
            }
        }

        [Test]
        public void MissingName_ListsTheAvailableNames()
        {
            Npz.Write(P("names.npz"), new[] { new NamedArray("W", NdArray.Scalar(1)), new NamedArray("b", NdArray.Scalar(2)) });
            var z = Npz.Read(P("names.npz"));
            var ex = Assert.Throws<EntkArgumentException>(() => _ = z["c"]);
            Assert.That(ex!.ParamName, Is.EqualTo("name"));
            Assert.That(ex.Message, Does.Contain("'W', 'b'").And.Contain("'c'").And.Contain("names.npz"));
            Assert.That(z.ContainsKey("c"), Is.False);
            Assert.That(z.ToString(), Does.EndWith("[W, b]"));
        }

        [Test]
        public void EmptyArchive_RoundTrips()
        {
            Npz.Write(P("empty.npz"), Array.Empty<NamedArray>());
            var z = Npz.Read(P("empty.npz"));
            Assert.That(z.Count, Is.EqualTo(0));
            Assert.That(Assert.Throws<EntkArgumentException>(() => _ = z["x"])!.Message, Does.Contain("the archive is empty"));
        }

        [TestCase("")]
        [TestCase("../evil")]
        [TestCase("/abs")]
        [TestCase("a//b")]
        [TestCase("a/./b")]
        [TestCase("back\\slash")]
        [TestCase("tab\there")]
        public void InvalidNames_AreRejected(string name)
        {
            if (name.Length == 0)
            {
                Assert.Throws<EntkArgumentException>(() => new NamedArray(name, NdArray.Scalar(1)));
                return;
            }
            var ex = Assert.Throws<EntkArgumentException>(() => Npz.Write(P("bad.npz"), new[] { new NamedArray(name, NdArray.Scalar(1)) }));
            Assert.That(ex!.ParamName, Is.EqualTo("arrays"));
            Assert.That(File.Exists(P("bad.npz")), Is.False);
            Assert.Throws<EntkArgumentException>(() => Npz.ValidateName(name));
        }

        [Test]
        public void ValidNames_IncludeTorchStyleAndNested()
        {
            var arrays = new[] { "0.weight", "layer1.bias", "enc/W", "θ_1", "arr_0" }.Select(n => new NamedArray(n, NdArray.Scalar(1))).ToList();
            Npz.Write(P("names-ok.npz"), arrays);
            Assert.That(Npz.Read(P("names-ok.npz")).Names, Is.EqualTo(arrays.Select(a => a.Name)));
        }

        [Test]
        public void DuplicateNames_AreRejected_AndExistingFileKept()
        {
            var a = new NamedArray("W", NdArray.Scalar(1));
            Assert.Throws<EntkArgumentException>(() => Npz.Write(P("dup.npz"), new[] { a, a }));
            Npz.Write(P("keep.npz"), new[] { a });
            Assert.Throws<OutputExistsException>(() => Npz.Write(P("keep.npz"), new[] { new NamedArray("V", NdArray.Scalar(2)) }));
            Assert.That(Npz.Read(P("keep.npz")).Names, Is.EqualTo(new[] { "W" }));
        }

        /// <summary>Forward-only stream: makes ZipArchive write data descriptors (flag bit 3) and Npz.Read copy the input.</summary>
        private sealed class ForwardOnlyStream : Stream
        {
            private readonly Stream _inner;
            public ForwardOnlyStream(Stream inner) => _inner = inner;
            public override bool CanRead => _inner.CanRead;
            public override bool CanSeek => false;
            public override bool CanWrite => _inner.CanWrite;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() => _inner.Flush();
            public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);
        }

        [TestCase(false)]
        [TestCase(true)]
        public void NonSeekableStreams_WriteDataDescriptors_AndReadBack(bool compress)
        {
            var arrays = AllTypesAllRanks().Take(6).ToList();
            var ms = new MemoryStream();
            Npz.Write(new ForwardOnlyStream(ms), arrays, compress);
            var bytes = ms.ToArray();
            Assert.That(BitConverter.ToUInt16(bytes, 6) & 0x8, Is.EqualTo(0x8), "data descriptor flag set");
            var z = Npz.Read(new ForwardOnlyStream(new MemoryStream(bytes)), "forward-only");
            Assert.That(z.Names, Is.EqualTo(arrays.Select(a => a.Name)));
            for (int i = 0; i < arrays.Count; i++) Assert.That(z.Arrays[i].Array.ContentEquals(arrays[i].Array), Is.True);
            // CRC protection still holds without local-header CRCs.
            var r = IoTestUtil.ZipDataRanges(bytes)[0];
            bytes[r.End - 2] ^= 0x04;
            Assert.Throws<EntkFormatException>(() => Npz.Read(new MemoryStream(bytes), "flipped"));
        }

        [Test]
        public void StreamVariants()
        {
            var arrays = AllTypesAllRanks().Take(5).ToList();
            using var ms = new MemoryStream();
            Npz.Write(ms, arrays, compress: true);
            ms.Position = 0;
            var z = Npz.Read(ms, "in-memory");
            Assert.That(z.Source, Is.EqualTo("in-memory"));
            Assert.That(z.Names, Is.EqualTo(arrays.Select(a => a.Name)));
        }
    }
}
