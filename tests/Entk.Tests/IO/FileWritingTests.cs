using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Tests.IO
{
    [TestFixture]
    public class AtomicFileTests
    {
        private string _dir = "";

        [SetUp]
        public void SetUp() => _dir = IoTestUtil.NewTempDir("atomic");

        [TearDown]
        public void TearDown() => IoTestUtil.DeleteDir(_dir);

        private string P(string name) => Path.Combine(_dir, name);

        private string[] Files() => Directory.GetFiles(_dir, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToArray()!;

        [Test]
        public void Success_LeavesOnlyTheTarget()
        {
            AtomicFile.WriteAllText(P("a.txt"), "hello");
            Assert.That(File.ReadAllText(P("a.txt")), Is.EqualTo("hello"));
            Assert.That(Files(), Is.EqualTo(new[] { "a.txt" }));
        }

        [Test]
        public void ExistingFile_IsNotOverwrittenWithoutFlag()
        {
            File.WriteAllText(P("a.txt"), "old");
            var ex = Assert.Throws<OutputExistsException>(() => AtomicFile.WriteAllText(P("a.txt"), "new"));
            Assert.That(ex!.Message, Does.Contain("overwrite"));
            Assert.That(File.ReadAllText(P("a.txt")), Is.EqualTo("old"));
            AtomicFile.WriteAllText(P("a.txt"), "new", overwrite: true);
            Assert.That(File.ReadAllText(P("a.txt")), Is.EqualTo("new"));
            Assert.That(Files(), Is.EqualTo(new[] { "a.txt" }));
        }

        [Test]
        public void ExceptionInCallback_KeepsOldContent_AndLeavesNoTempFile()
        {
            File.WriteAllText(P("a.txt"), "old");
            var ex = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(P("a.txt"), s =>
            {
                s.WriteByte(1);
                throw new InvalidOperationException("boom");
            }, overwrite: true));
            Assert.That(ex!.Message, Is.EqualTo("boom"));
            Assert.That(File.ReadAllText(P("a.txt")), Is.EqualTo("old"));
            Assert.That(Files(), Is.EqualTo(new[] { "a.txt" }));

            Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(P("new.txt"), _ => throw new InvalidOperationException("boom")));
            Assert.That(File.Exists(P("new.txt")), Is.False);
            Assert.That(Files(), Is.EqualTo(new[] { "a.txt" }));
        }

        [Test]
        public void MissingDirectories_AreCreated()
        {
            Npy.Write(P("x/y/z.npy"), NdArray.Scalar(1));
            Assert.That(Npy.Read(P("x/y/z.npy")).ToDoubleArray(), Is.EqualTo(new[] { 1.0 }));
        }

        [Test]
        public void FailingNpzWrite_LeavesNoFile()
        {
            // An invalid name is caught before anything is written.
            Assert.Throws<EntkArgumentException>(() => Npz.Write(P("bad.npz"), new[] { new NamedArray("a/../b", NdArray.Scalar(1)) }));
            Assert.That(Files(), Is.Empty);
        }
    }

    [TestFixture]
    public class JsonFileTests
    {
        private string _dir = "";

        [OneTimeSetUp]
        public void SetUp() => _dir = IoTestUtil.NewTempDir("json");

        [OneTimeTearDown]
        public void TearDown() => IoTestUtil.DeleteDir(_dir);

        private string P(string name) => Path.Combine(_dir, name);

        public sealed class Report
        {
            public string Name { get; set; } = "";
            public double Value { get; set; }
            public double[] Values { get; set; } = Array.Empty<double>();
            public float Single { get; set; }
            public double? Maybe { get; set; }
            public Dictionary<string, double> Metrics { get; set; } = new();
        }

        [Test]
        public void Object_IsIndented_Invariant_AndNonFiniteBecomesNull()
        {
            var old = Thread.CurrentThread.CurrentCulture;
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            Thread.CurrentThread.CurrentCulture = comma;
            try
            {
                var r = new Report
                {
                    Name = "Σ eigen",
                    Value = 0.1,
                    Values = new[] { 1.5, double.NaN, double.PositiveInfinity, -2e-300 },
                    Single = float.NegativeInfinity,
                    Maybe = double.NaN,
                    Metrics = new Dictionary<string, double> { ["a"] = 1.0, ["b"] = double.NegativeInfinity },
                };
                JsonFile.Write(P("r.json"), r);
                string text = File.ReadAllText(P("r.json"));
                Assert.That(text, Does.EndWith("}\n"));
                Assert.That(text, Does.Contain("\n  \"Name\": \"Σ eigen\",\n"));
                Assert.That(text, Does.Not.Contain("\r"));
                Assert.That(text, Does.Contain("0.1"));
                Assert.That(text, Does.Not.Contain("0,1"));
                var doc = JsonDocument.Parse(text).RootElement;
                Assert.That(doc.GetProperty("Values")[1].ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(doc.GetProperty("Values")[2].ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(doc.GetProperty("Values")[3].GetDouble(), Is.EqualTo(-2e-300));
                Assert.That(doc.GetProperty("Single").ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(doc.GetProperty("Maybe").ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(doc.GetProperty("Metrics").GetProperty("b").ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(doc.GetProperty("Metrics").GetProperty("a").GetDouble(), Is.EqualTo(1.0));
            }
            finally
            {
                Thread.CurrentThread.CurrentCulture = old;
            }
        }

        [Test]
        public void AnonymousObjectAndJsonNode()
        {
            JsonFile.Write(P("anon.json"), new { eigenvalues = new[] { 3.0, 1.0 }, claim = "ok", nested = new { x = double.NaN } });
            var doc = JsonDocument.Parse(File.ReadAllText(P("anon.json"))).RootElement;
            Assert.That(doc.GetProperty("eigenvalues").GetArrayLength(), Is.EqualTo(2));
            Assert.That(doc.GetProperty("nested").GetProperty("x").ValueKind, Is.EqualTo(JsonValueKind.Null));

            var node = new JsonObject
            {
                ["a"] = JsonValue.Create(double.NaN),
                ["b"] = new JsonArray(JsonValue.Create(1.25), JsonValue.Create(float.PositiveInfinity), null),
                ["c"] = "text",
            };
            JsonFile.Write(P("node.json"), node);
            string text = File.ReadAllText(P("node.json"));
            Assert.That(text, Is.EqualTo("{\n  \"a\": null,\n  \"b\": [\n    1.25,\n    null,\n    null\n  ],\n  \"c\": \"text\"\n}\n"));
            Assert.That(JsonFile.ToJsonString(node), Is.EqualTo(text));
        }

        [Test]
        public void Overwrite_IsExplicit()
        {
            JsonFile.Write(P("o.json"), new { a = 1 });
            Assert.Throws<OutputExistsException>(() => JsonFile.Write(P("o.json"), new { a = 2 }));
            JsonFile.Write(P("o.json"), new { a = 2 }, overwrite: true);
            Assert.That(JsonDocument.Parse(File.ReadAllText(P("o.json"))).RootElement.GetProperty("a").GetInt32(), Is.EqualTo(2));
            JsonFile.Write(P("null.json"), (object?)null);
            Assert.That(File.ReadAllText(P("null.json")), Is.EqualTo("null\n"));
        }
    }
}
