using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Tests.IO
{
    /// <summary>
    /// Truncation at every offset, byte flips at every position, and hand-made invalid files: each
    /// must give <see cref="EntkFormatException"/> naming the file (never another exception, a hang
    /// or silently different data).
    /// </summary>
    [TestFixture]
    public class CorruptionTests
    {
        private string _dir = "";

        [OneTimeSetUp]
        public void SetUp() => _dir = IoTestUtil.NewTempDir("corrupt");

        [OneTimeTearDown]
        public void TearDown() => IoTestUtil.DeleteDir(_dir);

        private string P(string name) => Path.Combine(_dir, name);

        private static readonly NamedArray[] SampleArrays =
        {
            new("W", IoTestUtil.Random(ElementType.Float64, 1, 3, 4)),
            new("b", IoTestUtil.Random(ElementType.Float32, 2, 4)),
            new("mask", IoTestUtil.Random(ElementType.Bool, 3, 5)),
            new("idx", IoTestUtil.Random(ElementType.Int64, 4, 2, 1)),
        };

        // ------------------------------------------------------------------ .npy

        [TestCase(ElementType.Float64)]
        [TestCase(ElementType.Float32)]
        [TestCase(ElementType.Int64)]
        [TestCase(ElementType.Int32)]
        [TestCase(ElementType.Bool)]
        [TestCase(ElementType.UInt8)]
        public void Npy_TruncatedAtEveryOffset_IsAFormatError(ElementType type)
        {
            string good = P("trunc-src-" + type + ".npy");
            Npy.Write(good, IoTestUtil.Random(type, 5, 3, 4));
            var bytes = File.ReadAllBytes(good);
            string p = P("trunc-" + type + ".npy");
            for (int cut = 0; cut < bytes.Length; cut++)
            {
                File.WriteAllBytes(p, bytes.AsSpan(0, cut).ToArray());
                IoTestUtil.AssertFormatError(() => Npy.Read(p), p, "cut at " + cut);
            }
            // ... and one byte too many is an error too.
            File.WriteAllBytes(p, bytes.Concat(new byte[] { 0 }).ToArray());
            var ex = IoTestUtil.AssertFormatError(() => Npy.Read(p), p);
            Assert.That(ex.Message, Does.Contain("unexpected bytes after the array data"));
        }

        [Test]
        public void Npy_FlippedHeaderByte_IsAFormatErrorAtEveryPosition()
        {
            foreach (var shape in new[] { new[] { 3, 4 }, new[] { 7 }, Array.Empty<int>() })
            {
                string good = P("flip-src.npy");
                Npy.Write(good, IoTestUtil.Random(ElementType.Float64, 9, shape), overwrite: true);
                var bytes = File.ReadAllBytes(good);
                int headerEnd = 10 + (bytes[8] | (bytes[9] << 8));
                string p = P("flip.npy");
                for (int pos = 0; pos < headerEnd; pos++)
                {
                    foreach (byte mask in new byte[] { 0xFF, 0x01, 0x20 })
                    {
                        var c = (byte[])bytes.Clone();
                        c[pos] ^= mask;
                        File.WriteAllBytes(p, c);
                        // 0xFF makes any ASCII byte non-ASCII; 0x01 turns digits into other digits, ' ' into '!';
                        // 0x20 swaps letter case and turns ' ' into NUL: every variant must be caught.
                        IoTestUtil.AssertFormatError(() => Npy.Read(p), p, "flip 0x" + mask.ToString("x2") + " at " + pos + " of shape [" + string.Join(",", shape) + "]");
                    }
                }
            }
        }

        [Test]
        public void Npy_FlippedDataByte_IsUndetectableForFloats_ButDetectedForBools()
        {
            // Documented limitation: .npy has no checksum. A flipped float byte reads as a different value
            // in exactly that element; nothing else changes and no exception is raised.
            var a = IoTestUtil.Random(ElementType.Float64, 4, 2, 3);
            Npy.Write(P("data.npy"), a);
            var bytes = File.ReadAllBytes(P("data.npy"));
            bytes[128 + 8 * 4 + 3] ^= 0x10;
            File.WriteAllBytes(P("data-flipped.npy"), bytes);
            var b = Npy.Read(P("data-flipped.npy")).ToDoubleArray();
            var diff = Enumerable.Range(0, 6).Where(i => BitConverter.DoubleToInt64Bits(a.ToDoubleArray()[i]) != BitConverter.DoubleToInt64Bits(b[i])).ToArray();
            Assert.That(diff, Is.EqualTo(new[] { 4 }));

            Npy.Write(P("bools.npy"), IoTestUtil.Random(ElementType.Bool, 4, 40));
            var bb = File.ReadAllBytes(P("bools.npy"));
            string p = P("bools-flipped.npy");
            for (int pos = 128; pos < bb.Length; pos++)
            {
                var c = (byte[])bb.Clone();
                c[pos] ^= 0xFE;
                File.WriteAllBytes(p, c);
                var ex = IoTestUtil.AssertFormatError(() => Npy.Read(p), p, "bool flip at " + pos);
                Assert.That(ex.Message, Does.Contain("must be 0 or 1"));
            }
        }

        [TestCase("not numpy at all", "magic")]
        [TestCase("", "too short")]
        [TestCase("\u0093NUM", "too short")]
        public void Npy_WrongMagic(string content, string expected)
        {
            string p = P("magic-" + expected.Replace(' ', '_') + content.Length + ".npy");
            File.WriteAllBytes(p, Encoding.Latin1.GetBytes(content));
            var ex = IoTestUtil.AssertFormatError(() => Npy.Read(p), p);
            Assert.That(ex.Message, Does.Contain(expected));
        }

        [Test]
        public void Npy_ZipFileGivenToNpyReader_IsAFormatError()
        {
            Npz.Write(P("z.npz"), SampleArrays);
            var ex = IoTestUtil.AssertFormatError(() => Npy.Read(P("z.npz")), P("z.npz"));
            Assert.That(ex.Message, Does.Contain("not a .npy file"));
        }

        [TestCase("<c16", "unsupported dtype '<c16'")]
        [TestCase(">f8", "big-endian")]
        [TestCase("|O", "unsupported dtype '|O'")]
        [TestCase("<U3", "unsupported dtype '<U3'")]
        [TestCase("<f2", "unsupported dtype '<f2'")]
        [TestCase("<u8", "unsupported dtype '<u8'")]
        [TestCase("", "unsupported dtype ''")]
        public void Npy_UnsupportedDtype(string descr, string expected)
        {
            string p = P("dtype-" + Guid.NewGuid().ToString("N") + ".npy");
            File.WriteAllBytes(p, NpyTests.Craft("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2,), }", new byte[16]));
            var ex = IoTestUtil.AssertFormatError(() => Npy.Read(p), p);
            Assert.That(ex.Message, Does.Contain(expected));
            Assert.That(ex.Message, Does.Contain("<f8, <f4, <i8, <i4, |b1, |u1"));
        }

        [Test]
        public void Npy_StructuredDtype_IsUnsupported()
        {
            string p = P("structured.npy");
            File.WriteAllBytes(p, NpyTests.Craft("{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,), }", new byte[24]));
            var ex = IoTestUtil.AssertFormatError(() => Npy.Read(p), p);
            Assert.That(ex.Message, Does.Contain("structured"));
        }

        [TestCase("{'descr': '<f8', 'fortran_order': False}", "missing key 'shape'")]
        [TestCase("{'descr': '<f8', 'shape': (2,)}", "missing key 'fortran_order'")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "unexpected key 'extra'")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'descr': '<f8'}", "duplicate key")]
        [TestCase("{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}", "'fortran_order' must be True or False")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': [2]}", "'shape' must be a tuple")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2)}", "not a tuple")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}", "negative axis length")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2.0,)}", "malformed header")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': ('2',)}", "must contain integers")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (02,)}", "leading zero")]
        [TestCase("{'descr': '<f8', 'fortran_order': Nope, 'shape': (2,)}", "unknown name 'Nope'")]
        [TestCase("{'descr': '<f8' 'fortran_order': False, 'shape': (2,)}", "expected ',' or '}'")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} x", "unexpected text after")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (2,)", "expected ',' or '}'")]
        [TestCase("{'descr': '<f\\x38', 'fortran_order': False, 'shape': (2,)}", "escape sequences")]
        [TestCase("{'descr: '<f8', 'fortran_order': False, 'shape': (2,)}", "malformed header")]
        [TestCase("('descr', '<f8')", "expected '{'")]
        [TestCase("", "expected '{'")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}", "too large")]
        [TestCase("{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,)}", "rank")]
        public void Npy_MalformedHeaderDict(string dict, string expected)
        {
            string p = P("dict-" + Guid.NewGuid().ToString("N") + ".npy");
            File.WriteAllBytes(p, NpyTests.Craft(dict, new byte[16]));
            var ex = IoTestUtil.AssertFormatError(() => Npy.Read(p), p);
            Assert.That(ex.Message, Does.Contain(expected));
        }

        [TestCase(11, "truncated")]
        [TestCase(13, "unexpected bytes after the array data")]
        public void Npy_ShapeInconsistentWithDataLength(int elements, string expected)
        {
            string p = P("len-" + elements + ".npy");
            File.WriteAllBytes(p, NpyTests.Craft("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", new byte[8 * elements]));
            var ex = IoTestUtil.AssertFormatError(() => Npy.Read(p), p);
            Assert.That(ex.Message, Does.Contain(expected).And.Contain("[3, 4]"));
        }

        [Test]
        public void Npy_UnsupportedVersion_AndAbsurdHeaderLength()
        {
            var bytes = NpyTests.Craft("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", new byte[16]);
            bytes[6] = 4;
            File.WriteAllBytes(P("v4.npy"), bytes);
            Assert.That(IoTestUtil.AssertFormatError(() => Npy.Read(P("v4.npy")), P("v4.npy")).Message, Does.Contain("version 4.0"));

            var v2 = NpyTests.Craft("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", new byte[16], major: 2);
            v2[8] = v2[9] = v2[10] = v2[11] = 0xFF;
            File.WriteAllBytes(P("v2huge.npy"), v2);
            Assert.That(IoTestUtil.AssertFormatError(() => Npy.Read(P("v2huge.npy")), P("v2huge.npy")).Message, Does.Contain("truncated"));

            var v3 = NpyTests.Craft("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", new byte[16], major: 3);
            v3[20] = 0xC3; // a lone UTF-8 lead byte
            File.WriteAllBytes(P("v3bad.npy"), v3);
            Assert.That(IoTestUtil.AssertFormatError(() => Npy.Read(P("v3bad.npy")), P("v3bad.npy")).Message, Does.Contain("UTF-8"));
        }

        // ------------------------------------------------------------------ .npz

        [TestCase(false)]
        [TestCase(true)]
        public void Npz_TruncatedAtEveryOffset_IsAFormatError(bool compress)
        {
            string good = P("npz-trunc-src-" + compress + ".npz");
            Npz.Write(good, SampleArrays, compress: compress);
            var bytes = File.ReadAllBytes(good);
            string p = P("npz-trunc.npz");
            for (int cut = 0; cut < bytes.Length; cut++)
            {
                File.WriteAllBytes(p, bytes.AsSpan(0, cut).ToArray());
                IoTestUtil.AssertFormatError(() => Npz.Read(p), p, "cut at " + cut + " of " + bytes.Length);
            }
        }

        [TestCase(false)]
        [TestCase(true)]
        public void Npz_FlippedByte_IsAFormatErrorOrHarmless_AndAlwaysAnErrorInsideEntryData(bool compress)
        {
            string good = P("npz-flip-src-" + compress + ".npz");
            Npz.Write(good, SampleArrays, compress: compress);
            var bytes = File.ReadAllBytes(good);
            var dataRanges = IoTestUtil.ZipDataRanges(bytes);
            Assert.That(dataRanges, Has.Count.EqualTo(SampleArrays.Length));
            string p = P("npz-flip.npz");
            int errors = 0, harmless = 0;
            for (int pos = 0; pos < bytes.Length; pos++)
            {
                var c = (byte[])bytes.Clone();
                c[pos] ^= 0xFF;
                File.WriteAllBytes(p, c);
                bool inData = dataRanges.Any(r => pos >= r.Start && pos < r.End);
                NpzArchive? read = null;
                try { read = Npz.Read(p); }
                catch (EntkFormatException e)
                {
                    Assert.That(e.Path, Is.EqualTo(p));
                    errors++;
                    continue;
                }
                catch (Exception e)
                {
                    Assert.Fail("flip at " + pos + ": expected EntkFormatException, got " + e.GetType().Name + ": " + e.Message);
                }
                // Every byte of entry data is covered by the CRC-32. One exception, with deflate only: the last
                // compressed byte may hold nothing but the end-of-block code and padding, and .NET's DeflateStream
                // reports a damaged end marker as a normal end of stream; all data was decoded and CRC-checked.
                bool lastDeflateByte = compress && dataRanges.Any(r => pos == r.End - 1);
                Assert.That(inData && !lastDeflateByte, Is.False, "flip at " + pos + " inside entry data was not detected; ranges " + string.Join(", ", dataRanges));
                // ZIP leaves some bytes unprotected (timestamps, attributes, version fields): the content must be unchanged.
                Assert.That(read!.Names, Is.EqualTo(SampleArrays.Select(a => a.Name)), "flip at " + pos);
                for (int i = 0; i < SampleArrays.Length; i++)
                    Assert.That(read.Arrays[i].Array.ContentEquals(SampleArrays[i].Array), Is.True, "flip at " + pos + " changed " + SampleArrays[i].Name);
                harmless++;
            }
            int dataBytes = dataRanges.Sum(r => r.End - r.Start);
            Assert.That(errors, Is.GreaterThanOrEqualTo(dataBytes));
            TestContext.Out.WriteLine($"compress={compress}: {bytes.Length} positions, {errors} errors, {harmless} harmless (unprotected ZIP metadata)");
        }

        [Test]
        public void Npz_CrcMismatch_IsReportedAsSuch()
        {
            Npz.Write(P("crc.npz"), SampleArrays);
            var bytes = File.ReadAllBytes(P("crc.npz"));
            var r = IoTestUtil.ZipDataRanges(bytes)[0];
            bytes[r.End - 1] ^= 0x01; // last byte of W's float data: a valid .npy, only the CRC can tell
            File.WriteAllBytes(P("crc-bad.npz"), bytes);
            var ex = IoTestUtil.AssertFormatError(() => Npz.Read(P("crc-bad.npz")), P("crc-bad.npz"));
            Assert.That(ex.Message, Does.Contain("entry 'W.npy'").And.Contain("CRC-32 mismatch"));
        }

        [Test]
        public void Npz_StructuralProblems()
        {
            // A .npy file is not an archive.
            Npy.Write(P("plain.npy"), NdArray.Scalar(1));
            Assert.That(IoTestUtil.AssertFormatError(() => Npz.Read(P("plain.npy")), P("plain.npy")).Message, Does.Contain("not a valid ZIP archive"));

            // Entries that are not .npy arrays, duplicates, invalid .npy content.
            void MakeZip(string path, params (string Name, byte[] Data)[] entries)
            {
                using var fs = File.Create(path);
                using var z = new ZipArchive(fs, ZipArchiveMode.Create);
                foreach (var (name, data) in entries)
                {
                    using var s = z.CreateEntry(name, CompressionLevel.NoCompression).Open();
                    s.Write(data);
                }
            }
            var good = NpyTests.Craft("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new byte[8]);
            MakeZip(P("readme.npz"), ("a.npy", good), ("README.txt", Encoding.ASCII.GetBytes("hi")));
            Assert.That(IoTestUtil.AssertFormatError(() => Npz.Read(P("readme.npz")), P("readme.npz")).Message, Does.Contain("'README.txt' is not a .npy array"));
            MakeZip(P("dup.npz"), ("a.npy", good), ("a.npy", good));
            Assert.That(IoTestUtil.AssertFormatError(() => Npz.Read(P("dup.npz")), P("dup.npz")).Message, Does.Contain("occurs twice"));
            MakeZip(P("garbage.npz"), ("a.npy", Encoding.ASCII.GetBytes("garbage garbage")));
            Assert.That(IoTestUtil.AssertFormatError(() => Npz.Read(P("garbage.npz")), P("garbage.npz")).Message, Does.Contain("entry 'a.npy': not a .npy file"));
            MakeZip(P("short.npz"), ("a.npy", good.AsSpan(0, good.Length - 1).ToArray()));
            Assert.That(IoTestUtil.AssertFormatError(() => Npz.Read(P("short.npz")), P("short.npz")).Message, Does.Contain("entry 'a.npy': truncated"));
            MakeZip(P("empty-name.npz"), (".npy", good));
            Assert.That(IoTestUtil.AssertFormatError(() => Npz.Read(P("empty-name.npz")), P("empty-name.npz")).Message, Does.Contain("empty array name"));
        }

        // ------------------------------------------------------------------ checkpoints

        [Test]
        public void Checkpoint_TruncatedOrFlipped_IsAFormatErrorOrHarmless()
        {
            var data = CheckpointTests.Sample();
            Checkpoint.Save(P("ck-src.npz"), data);
            var bytes = File.ReadAllBytes(P("ck-src.npz"));
            string p = P("ck.npz");
            for (int cut = 0; cut < bytes.Length; cut += 7)
            {
                File.WriteAllBytes(p, bytes.AsSpan(0, cut).ToArray());
                IoTestUtil.AssertFormatError(() => Checkpoint.Load(p), p, "cut at " + cut);
            }
            var ranges = IoTestUtil.ZipDataRanges(bytes);
            for (int pos = 0; pos < bytes.Length; pos++)
            {
                var c = (byte[])bytes.Clone();
                c[pos] ^= 0x5A;
                File.WriteAllBytes(p, c);
                CheckpointData? loaded = null;
                try { loaded = Checkpoint.Load(p); }
                catch (EntkFormatException e) { Assert.That(e.Path, Is.EqualTo(p)); continue; }
                catch (Exception e) { Assert.Fail("flip at " + pos + ": " + e.GetType().Name + ": " + e.Message); }
                Assert.That(ranges.Any(r => pos >= r.Start && pos < r.End), Is.False, "flip at " + pos + " inside entry data was not detected");
                CheckpointTests.AssertSame(loaded!, data);
            }
        }
    }
}
