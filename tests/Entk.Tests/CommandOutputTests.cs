using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Tests
{
    /// <summary>The files `entk tms` and `entk mlp` write exist, have the stated shapes and agree with metrics.json.</summary>
    [TestFixture]
    [NonParallelizable]
    public class CommandOutputTests
    {
        private static string NewDir(string name) => Path.Combine(Path.GetTempPath(), "entk-out-" + name + "-" + Guid.NewGuid().ToString("N"));

        private static JsonNode Json(string path) => JsonNode.Parse(File.ReadAllText(path))!;

        [Test]
        public void Tms_Files_HaveStatedShapes_AndAgreeWithMetrics()
        {
            string dir = NewDir("tms");
            try
            {
                var (code, output) = CliTests.Run("tms", "--out", dir, "-n", "12", "-m", "4", "-D", "30", "--steps", "300", "-k", "20", "--seed", "4");
                Assert.That(code, Is.EqualTo(0), output);
                string m = Path.Combine(dir, "m4_S0.3");
                var w = Checkpoint.Load(Path.Combine(m, "weights.npz"));
                Assert.That(w.Tensor("W").Shape, Is.EqualTo(new[] { 4, 12 }));
                Assert.That(w.Tensor("b").Shape, Is.EqualTo(new[] { 12 }));
                Assert.That(Npy.Read(Path.Combine(m, "inputs.npy")).Shape, Is.EqualTo(new[] { 30, 12 }));
                Assert.That(Npy.Read(Path.Combine(m, "importance.npy")).Shape, Is.EqualTo(new[] { 12 }));
                var metrics = Json(Path.Combine(m, "metrics.json"));
                var top = Json(Path.Combine(dir, "metrics.json"));
                Assert.That(top["models"]!["m4_S0.3"]!["reconstructed_count"]!.GetValue<int>(), Is.EqualTo(metrics["reconstructed_count"]!.GetValue<int>()));
                Assert.That(metrics["reconstructed_count"]!.GetValue<int>(), Is.EqualTo(Entk.Metrics.TmsFeatures.ReconstructedCount(w.Tensor("W").ToMatrix())));
                foreach (var beta in new[] { "0", "1", "0.3" })
                {
                    var values = Npy.ReadVector(Path.Combine(m, $"eigenvalues_beta{beta}.npy"));
                    var vectors = Npy.ReadMatrix(Path.Combine(m, $"eigenvectors_beta{beta}.npy"));
                    var heat = Npy.ReadMatrix(Path.Combine(m, $"heatmap_beta{beta}.npy"));
                    Assert.That(values.Length, Is.EqualTo(20));
                    Assert.That(vectors.Shape, Is.EqualTo(new[] { 12 * 30, 20 }));
                    Assert.That(heat.Shape, Is.EqualTo(new[] { 12, 20 }));
                    var b = metrics["beta" + beta]!;
                    Assert.That(b["eigenvalues"]!.AsArray().Select(v => v!.GetValue<double>()), Is.EqualTo(values));
                    // diagonal count = number of i < n whose heatmap column peaks at feature i
                    int diag = Enumerable.Range(0, Math.Min(12, 20)).Count(i => Enumerable.Range(0, 12).OrderByDescending(f => heat[f, i]).First() == i);
                    Assert.That(b["diagonal_count"]!.GetValue<int>(), Is.EqualTo(diag));
                    // heatmap recomputed from the written files equals the written heatmap
                    var recomputed = Entk.Metrics.TmsFeatures.Heatmap(Npy.ReadMatrix(Path.Combine(m, "inputs.npy")), vectors);
                    TestUtil.AssertClose(recomputed.Normalized, heat, 1e-12, "heatmap β=" + beta);
                    Assert.That(b["mmcs"]!.GetValue<double>(), Is.EqualTo(recomputed.Mmcs).Within(1e-12));
                }
                Assert.That(File.Exists(Path.Combine(dir, "figure.png")) && File.Exists(Path.Combine(dir, "figure.csv")) && File.Exists(Path.Combine(dir, "report.md")), Is.True);
                Assert.That(top["claims"]!.AsArray().Count, Is.GreaterThan(0));
            }
            finally
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
            }
        }

        [Test]
        public void Mlp_Files_HaveStatedShapes_AndAgreeWithMetrics()
        {
            string dir = NewDir("mlp");
            try
            {
                var (code, output) = CliTests.Run("mlp", "--out", dir, "-p", "7", "-H", "16", "--epochs", "60", "-k", "49", "--grokking", "--seed", "2");
                Assert.That(code, Is.EqualTo(0), output);
                string m = Path.Combine(dir, "mlp");
                var w = Checkpoint.Load(Path.Combine(m, "weights.npz"));
                Assert.That(w.Tensor("W1").Shape, Is.EqualTo(new[] { 16, 14 }));
                Assert.That(w.Tensor("W2").Shape, Is.EqualTo(new[] { 7, 16 }));
                var metrics = Json(Path.Combine(m, "metrics.json"));
                foreach (var kernel in new[] { "full", "layer1", "layer2" })
                {
                    var values = Npy.ReadVector(Path.Combine(m, $"eigenvalues_{kernel}.npy"));
                    Assert.That(values.Length, Is.EqualTo(49));
                    Assert.That(Npy.ReadMatrix(Path.Combine(m, $"eigenvectors_{kernel}.npy")).Shape, Is.EqualTo(new[] { 49, 49 }));
                    Assert.That(metrics["kernels"]![kernel]!["eigenvalues"]!.AsArray().Select(v => v!.GetValue<double>()), Is.EqualTo(values));
                }
                var heat = Npy.ReadMatrix(Path.Combine(m, "heatmap_first_layer1_after.npy"));
                Assert.That(heat.Shape, Is.EqualTo(new[] { 6, 12 }));   // 2K rows (K = 3) × 4K atoms
                var best = metrics["alignment"]!["first_layer1"]!["best_value_per_atom"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
                Assert.That(best, Is.EqualTo(Enumerable.Range(0, 12).Select(j => Enumerable.Range(0, 6).Max(i => heat[i, j])).ToArray()).Within(1e-15));
                string g = Path.Combine(dir, "grokking");
                var gm = Json(Path.Combine(g, "metrics.json"));
                var cps = gm["checkpoints"]!.AsArray();
                Assert.That(cps.Count, Is.EqualTo(7));   // epochs 0, 10, …, 60
                foreach (var cp in cps)
                {
                    int e = cp!["epoch"]!.GetValue<int>();
                    var ck = Checkpoint.Load(Path.Combine(g, $"weights_epoch{e}.npz"));
                    Assert.That(ck.Tensor("W1").Shape, Is.EqualTo(new[] { 16, 14 }));
                    Assert.That(cp["top_eigenvalues"]!.AsArray().Select(v => v!.GetValue<double>()), Is.EqualTo(Npy.ReadVector(Path.Combine(g, $"eigenvalues_epoch{e}.npy"))));
                }
                var overlap = Npy.Read(Path.Combine(g, "overlap.npy"));
                Assert.That(overlap.Shape, Is.EqualTo(new[] { 7, 5 }));
                foreach (var f in new[] { "grokking.png", "overlap.png", "report.md", "manifest.json" }) Assert.That(File.Exists(Path.Combine(g, f)), Is.True, f);
            }
            finally
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
            }
        }
    }
}
