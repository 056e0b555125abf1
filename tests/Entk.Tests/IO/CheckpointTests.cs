using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Tests.IO
{
    [TestFixture]
    public class CheckpointTests
    {
        private string _dir = "";

        [OneTimeSetUp]
        public void SetUp() => _dir = IoTestUtil.NewTempDir("ckpt");

        [OneTimeTearDown]
        public void TearDown() => IoTestUtil.DeleteDir(_dir);

        private string P(string name) => Path.Combine(_dir, name);

        internal static CheckpointData Sample() => new(
            "mlp-modular-addition",
            new[]
            {
                new NamedArray("W1", IoTestUtil.Random(ElementType.Float64, 11, 6, 10)),
                new NamedArray("W2", IoTestUtil.Random(ElementType.Float64, 12, 5, 6)),
                new NamedArray("b", NdArray.FromVector(new[] { 0.5, -0.25, 0.0, 1e-300, -1e300 })),
            },
            new Dictionary<string, MetadataValue> { ["p"] = 5L, ["hidden"] = 6L, ["activation"] = "relu", ["lr"] = 1e-3, ["weight_decay"] = 1.0, ["note"] = "Σ über θ" },
            new Dictionary<string, MetadataValue> { ["epoch"] = 1200L, ["seed"] = 42L, ["loss"] = 0.000123 });

        internal static void AssertSame(CheckpointData actual, CheckpointData expected)
        {
            Assert.That(actual.Kind, Is.EqualTo(expected.Kind));
            Assert.That(actual.TensorNames, Is.EqualTo(expected.TensorNames));
            for (int i = 0; i < expected.Tensors.Count; i++)
                Assert.That(actual.Tensors[i].Array.ContentEquals(expected.Tensors[i].Array), Is.True, expected.Tensors[i].Name);
            Assert.That(actual.Hyperparameters.Keys, Is.EqualTo(expected.Hyperparameters.Keys), "hyperparameter order");
            foreach (var kv in expected.Hyperparameters) Assert.That(actual.Hyperparameters[kv.Key], Is.EqualTo(kv.Value), kv.Key);
            Assert.That(actual.Info.Keys, Is.EqualTo(expected.Info.Keys), "info order");
            foreach (var kv in expected.Info) Assert.That(actual.Info[kv.Key], Is.EqualTo(kv.Value), kv.Key);
        }

        [Test]
        public void SaveLoad_RoundTrips_EverythingWithKinds()
        {
            var data = Sample();
            Checkpoint.Save(P("rt.npz"), data);
            var back = Checkpoint.Load(P("rt.npz"));
            AssertSame(back, data);
            Assert.That(back.HasMetadata, Is.True);
            Assert.That(back.Hyperparameters["weight_decay"].Kind, Is.EqualTo(MetadataValueKind.Number), "1.0 stays a number");
            Assert.That(back.Hyperparameters["p"].Kind, Is.EqualTo(MetadataValueKind.Integer));
            Assert.That(back.Hyperparameters["p"].AsInt64(), Is.EqualTo(5));
            Assert.That(back.Hyperparameters["lr"].AsDouble(), Is.EqualTo(1e-3));
            Assert.That(back.Info["loss"].AsString(), Is.EqualTo("0.000123"));
            Assert.That(back.Tensor("W2").Shape, Is.EqualTo(new[] { 5, 6 }));
            Assert.That(back.ParameterCount, Is.EqualTo(60 + 30 + 5));
            Assert.That(back.ComputeSha256(), Is.EqualTo(data.ComputeSha256()));

            // The archive is a plain npz: tensors in layout order, then the metadata entry.
            var z = Npz.Read(P("rt.npz"));
            Assert.That(z.Names, Is.EqualTo(new[] { "W1", "W2", "b", "__entk__" }));
            Assert.That(z["__entk__"].ElementType, Is.EqualTo(ElementType.UInt8));
            var meta = JsonNode.Parse(z["__entk__"].ToByteArray())!;
            Assert.That((string?)meta["format"], Is.EqualTo("entk-checkpoint"));
            Assert.That((int)meta["format_version"]!, Is.EqualTo(1));
            Assert.That((string?)meta["sha256"], Is.EqualTo(data.ComputeSha256()));
            Assert.That(meta["parameters"]![0]!["shape"]!.ToJsonString(), Is.EqualTo("[6,10]"));
        }

        [Test]
        public void Save_IsDeterministic_AndRespectsOverwrite()
        {
            Checkpoint.Save(P("d1.npz"), Sample());
            Checkpoint.Save(P("d2.npz"), Sample());
            Assert.That(File.ReadAllBytes(P("d1.npz")), Is.EqualTo(File.ReadAllBytes(P("d2.npz"))));
            Assert.Throws<OutputExistsException>(() => Checkpoint.Save(P("d1.npz"), Sample()));
            Checkpoint.Save(P("d1.npz"), Sample(), overwrite: true);
        }

        [Test]
        public void ParameterVector_FollowsLayoutOrder()
        {
            var data = Sample();
            var theta = data.ToParameterVector();
            var expected = data.Tensors.SelectMany(t => t.Array.ToDoubleArray()).ToArray();
            Assert.That(theta, Is.EqualTo(expected));
        }

        [Test]
        public void ModifiedFloatWithValidCrc_FailsTheChecksum()
        {
            Checkpoint.Save(P("tamper.npz"), Sample());
            // Rewrite the W1 entry properly (new, valid CRC-32) with one float changed by one ulp.
            using (var z = ZipFile.Open(P("tamper.npz"), ZipArchiveMode.Update))
            {
                var e = z.GetEntry("W1.npy")!;
                byte[] b;
                using (var s = e.Open()) { var ms = new MemoryStream(); s.CopyTo(ms); b = ms.ToArray(); }
                b[b.Length - 8] ^= 0x01;
                e.Delete();
                using var w = z.CreateEntry("W1.npy", CompressionLevel.NoCompression).Open();
                w.Write(b);
            }
            Assert.That(Npz.Read(P("tamper.npz"))["W1"].ElementCount, Is.EqualTo(60), "the archive itself is valid");
            var ex = IoTestUtil.AssertFormatError(() => Checkpoint.Load(P("tamper.npz")), P("tamper.npz"));
            Assert.That(ex.Message, Does.Contain("parameter data does not match its checksum"));
        }

        private void SaveWithMetadata(string path, IEnumerable<NamedArray> tensors, string json)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            Npz.Write(path, tensors.Append(new NamedArray("__entk__", NdArray.FromBytes(bytes, bytes.Length))).ToList(), overwrite: true);
        }

        private JsonObject GoodMetadata(CheckpointData data)
        {
            return JsonNode.Parse(Encoding.UTF8.GetString(Checkpoint.BuildMetadata(data)))!.AsObject();
        }

        [TestCase("format", "\"other\"", "'format'")]
        [TestCase("format_version", "2", "format version 2")]
        [TestCase("format_version", "\"1\"", "'format_version'")]
        [TestCase("kind", "\"\"", "'kind' is empty")]
        [TestCase("kind", "null", "field 'kind'")]
        [TestCase("sha256", "\"abc\"", "'sha256'")]
        [TestCase("hyperparameters", "{\"a\": true}", "'hyperparameters.a' must be a string or a number")]
        [TestCase("hyperparameters", "{\"a\": [1]}", "must be a string or a number")]
        [TestCase("info", "{\"a\": 1e999}", "out of range")]
        [TestCase("info", "[]", "'info'")]
        [TestCase("parameters", "[{\"name\": \"W1\", \"shape\": [6, 10]}]", "does not list")]
        [TestCase("parameters", "[{\"name\": \"W1\", \"shape\": [10, 6]}, {\"name\": \"W2\", \"shape\": [5, 6]}, {\"name\": \"b\", \"shape\": [5]}]", "shape [6, 10] in the archive but [10, 6]")]
        [TestCase("parameters", "[{\"name\": \"W1\", \"shape\": [6, 10]}, {\"name\": \"W2\", \"shape\": [5, 6]}, {\"name\": \"b\", \"shape\": [5]}, {\"name\": \"c\", \"shape\": [1]}]", "no entry 'c.npy'")]
        [TestCase("parameters", "[{\"name\": \"W1\", \"shape\": [6, 10], \"dtype\": \"<f4\"}]", "dtype")]
        [TestCase("parameters", "[{\"name\": \"W1\", \"shape\": [-6, 10]}]", "invalid shape")]
        [TestCase("parameters", "[{\"name\": \"W1\", \"shape\": [6, 10]}, {\"name\": \"W1\", \"shape\": [6, 10]}]", "listed twice")]
        [TestCase("parameters", "[{\"shape\": [6, 10]}]", "no string 'name'")]
        public void InvalidMetadata_IsAFormatError(string field, string json, string expected)
        {
            var data = Sample();
            var meta = GoodMetadata(data);
            meta[field] = JsonNode.Parse(json);
            string p = P("meta-" + Guid.NewGuid().ToString("N") + ".npz");
            SaveWithMetadata(p, data.Tensors, meta.ToJsonString());
            var ex = IoTestUtil.AssertFormatError(() => Checkpoint.Load(p), p);
            Assert.That(ex.Message, Does.Contain(expected));
        }

        [Test]
        public void MissingFieldsAndBadEncodings_AreFormatErrors()
        {
            var data = Sample();
            foreach (var field in new[] { "format", "format_version", "kind", "hyperparameters", "parameters", "sha256" })
            {
                var meta = GoodMetadata(data);
                meta.Remove(field);
                string p = P("missing-" + field + ".npz");
                SaveWithMetadata(p, data.Tensors, meta.ToJsonString());
                Assert.That(IoTestUtil.AssertFormatError(() => Checkpoint.Load(p), p).Message, Does.Contain("missing field '" + field + "'"));
            }
            string bad = P("notjson.npz");
            SaveWithMetadata(bad, data.Tensors, "{ not json");
            Assert.That(IoTestUtil.AssertFormatError(() => Checkpoint.Load(bad), bad).Message, Does.Contain("not valid JSON"));

            string dupKey = P("dupkey.npz");
            var text = GoodMetadata(data).ToJsonString();
            SaveWithMetadata(dupKey, data.Tensors, text.Insert(1, "\"kind\":\"other\","));
            Assert.That(IoTestUtil.AssertFormatError(() => Checkpoint.Load(dupKey), dupKey).Message, Does.Contain("not valid JSON"));

            string utf = P("notutf8.npz");
            Npz.Write(utf, data.Tensors.Append(new NamedArray("__entk__", NdArray.FromBytes(new byte[] { 0x7b, 0xff, 0x7d }, 3))).ToList());
            Assert.That(IoTestUtil.AssertFormatError(() => Checkpoint.Load(utf), utf).Message, Does.Contain("UTF-8"));

            string f8 = P("meta-f8.npz");
            Npz.Write(f8, data.Tensors.Append(new NamedArray("__entk__", NdArray.Scalar(1))).ToList());
            Assert.That(IoTestUtil.AssertFormatError(() => Checkpoint.Load(f8), f8).Message, Does.Contain("1-D uint8"));

            // A parameter stored as float32 in an Entk checkpoint is refused.
            string f4 = P("param-f4.npz");
            var tensors = data.Tensors.Select(t => t.Name == "b" ? new NamedArray("b", NdArray.FromSingles(new float[5], 5)) : t);
            SaveWithMetadata(f4, tensors, GoodMetadata(data).ToJsonString());
            Assert.That(IoTestUtil.AssertFormatError(() => Checkpoint.Load(f4), f4).Message, Does.Contain("stored as float32"));
        }

        [Test]
        public void PlainNpz_LoadsAsUnknownKindWithoutChecksum()
        {
            Npz.Write(P("plain.npz"), new[]
            {
                new NamedArray("W", IoTestUtil.Formula(ElementType.Float64, 3, 2)),
                new NamedArray("b", IoTestUtil.Formula(ElementType.Float32, 2)),
            });
            var c = Checkpoint.Load(P("plain.npz"));
            Assert.That(c.Kind, Is.EqualTo(CheckpointData.UnknownKind));
            Assert.That(c.HasMetadata, Is.False);
            Assert.That(c.Hyperparameters, Is.Empty);
            Assert.That(c.TensorNames, Is.EqualTo(new[] { "W", "b" }));
            Assert.That(c.Tensor("b").ElementType, Is.EqualTo(ElementType.Float64), "float32 is promoted");
            Assert.That(c.Tensor("b").ToDoubleArray(), Is.EqualTo(new[] { -3.0, -2.5 }));

            Npz.Write(P("ints.npz"), new[] { new NamedArray("step", NdArray.FromInt64s(new[] { 3L }, 1)) });
            Assert.That(IoTestUtil.AssertFormatError(() => Checkpoint.Load(P("ints.npz")), P("ints.npz")).Message, Does.Contain("'step' is int64"));
        }

        [Test]
        public void CheckpointData_ValidatesItsArguments()
        {
            var w = new NamedArray("W", NdArray.FromDoubles(new double[4], 2, 2));
            Assert.Throws<EntkArgumentException>(() => new CheckpointData("", new[] { w }));
            Assert.Throws<EntkArgumentException>(() => new CheckpointData("k", new[] { w, w }));
            Assert.Throws<EntkArgumentException>(() => new CheckpointData("k", new[] { new NamedArray("__entk__", NdArray.Scalar(1)) }));
            Assert.Throws<EntkArgumentException>(() => new CheckpointData("k", new[] { new NamedArray("../W", NdArray.Scalar(1)) }));
            var f32 = Assert.Throws<EntkArgumentException>(() => new CheckpointData("k", new[] { new NamedArray("W", NdArray.FromSingles(new float[1], 1)) }));
            Assert.That(f32!.Message, Does.Contain("float64").And.Contain("float32"));
            Assert.Throws<EntkArgumentException>(() => new CheckpointData("k", new[] { w }, new Dictionary<string, MetadataValue> { [""] = 1L }));
            Assert.Throws<NonFiniteValueException>(() => MetadataValue.FromDouble(double.NaN));

            var c = new CheckpointData("k", new[] { w });
            var missing = Assert.Throws<EntkArgumentException>(() => c.Tensor("V"));
            Assert.That(missing!.Message, Does.Contain("'W'").And.Contain("'V'"));
            Assert.That(c.ContainsTensor("W"), Is.True);
            Assert.That(c.Info, Is.Empty);
            Assert.That(c.ToString(), Is.EqualTo("CheckpointData k [W [2, 2]]"));
        }

        [Test]
        public void MetadataValue_Semantics()
        {
            Assert.That(MetadataValue.FromDouble(2.0).AsString(), Is.EqualTo("2.0"));
            Assert.That(MetadataValue.FromDouble(1e20).AsString(), Is.EqualTo("1E+20"));
            Assert.That(MetadataValue.FromDouble(2.0).AsInt64(), Is.EqualTo(2));
            Assert.Throws<InvalidOperationException>(() => MetadataValue.FromDouble(2.5).AsInt64());
            Assert.Throws<InvalidOperationException>(() => MetadataValue.FromString("x").AsDouble());
            Assert.That(MetadataValue.FromInt64(3), Is.Not.EqualTo(MetadataValue.FromDouble(3)));
            Assert.That(MetadataValue.FromString("tanh").ToString(), Is.EqualTo("\"tanh\""));
            MetadataValue implicitValue = 0.5;
            Assert.That(implicitValue.Kind, Is.EqualTo(MetadataValueKind.Number));
        }

        [Test]
        public void EmptyCheckpoint_RoundTrips()
        {
            var c = new CheckpointData("empty", Array.Empty<NamedArray>());
            Checkpoint.Save(P("empty.npz"), c);
            var back = Checkpoint.Load(P("empty.npz"));
            Assert.That(back.Tensors, Is.Empty);
            Assert.That(back.Kind, Is.EqualTo("empty"));
        }
    }
}
