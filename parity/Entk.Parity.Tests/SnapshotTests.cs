using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// Reviewed snapshots of every case (Snapshots/&lt;Case&gt;.json): the C# spectra (top-k eigenvalues) and alignment
    /// metrics at 10 significant digits, compared with <see cref="SnapshotTolerance"/>. The parity tests of the same
    /// case establish that these C# values agree with the Python reference; the snapshot pins them over time.
    /// Policy: <see cref="SnapshotStore"/>.
    /// </summary>
    [TestFixture]
    public sealed class SnapshotTests
    {
        [TestCaseSource(typeof(ParityCases), nameof(ParityCases.TmsCases))]
        public void TmsCase_SpectraAndMetrics_MatchSnapshot(TmsCase c)
        {
            PythonReference.Require();
            var o = CaseStore.Get(c);
            var m = Json(o.File("metrics.json"));
            var s = Start(c, o);
            s.Add("reconstructed_count", (long)m["reconstructed_count"]!);
            s.Add("final_loss", (double)m["final_loss"]!);
            foreach (double beta in c.Betas)
            {
                string tag = TmsCase.Tag(beta);
                var b = m["beta" + tag]!;
                s.Add("beta" + tag + ".eigenvalues", Npy.Read(o.File("eigenvalues_beta" + tag + ".npy")).Float64());
                s.Add("beta" + tag + ".mmcs", (double)b["mmcs"]!);
                s.Add("beta" + tag + ".matched_score", (double)b["matched_score"]!);
                s.Add("beta" + tag + ".diagonal_count", (long)b["diagonal_count"]!);
            }
            SnapshotStore.Match(s);
        }

        [TestCaseSource(typeof(ParityCases), nameof(ParityCases.MlpCases))]
        public void MlpCase_SpectraAndAlignment_MatchSnapshot(MlpCase c)
        {
            PythonReference.Require();
            var o = CaseStore.Get(c);
            var m = Json(o.File("metrics.json"));
            var s = Start(c, o);
            var f = m["final"]!;
            s.Add("final.train_loss", (double)f["train_loss"]!);
            s.Add("final.test_loss", (double)f["test_loss"]!);
            s.Add("final.train_accuracy", (double)f["train_accuracy"]!);
            s.Add("final.test_accuracy", (double)f["test_accuracy"]!);
            foreach (string kn in new[] { "full", "layer1", "layer2" })
                s.Add(kn + ".eigenvalues", Npy.Read(o.File("eigenvalues_" + kn + ".npy")).Float64());
            foreach (var a in ParityChecks.Alignments)
            {
                var al = m["alignment"]![a.Name]!;
                string p = a.Name + ".";
                s.Add(p + "overlap_" + a.First, (double)al["overlap_first_family"]!);
                s.Add(p + "overlap_" + a.Second, (double)al["overlap_second_family"]!);
                var best = ParityChecks.Array(al["best_value_per_atom"]);
                s.Add(p + "best_value_mean", best.Average());
                s.Add(p + "best_value_min", best.Min());
                s.Add(p + "aligned_atoms", (long)al["aligned_atoms"]!);
                s.Add(p + "covered_rows", (long)al["covered_rows"]!);
            }
            SnapshotStore.Match(s);
        }

        private static JsonObject Json(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

        private static JsonSnapshot Start(ParityCase c, CaseOutput o)
        {
            var s = new JsonSnapshot(c.Name, c.Settings)
                .Provenance("values", "C# outputs of the entk CLI for these settings (eigenvalues from eigenvalues_*.npy, the rest from metrics.json); parity with entk_ref is asserted by SpectrumParityTests for the same case")
                .Provenance("dtype", "float64")
                .Provenance("device", "cpu")
                .Provenance("format", JsonSnapshot.Digits + " significant digits; eigenvalues descending, ridge included")
                .Provenance("tolerance", "eigenvalues: 1e-8 relative or 1e-10 of the largest; other floats: 1e-8 relative (1e-12 absolute); integers exact");
            // The CLI's environment block (top-level metrics.json for TMS, the model's for the MLP).
            string top = Path.Combine(Path.GetDirectoryName(o.Directory)!, "metrics.json");
            var env = (File.Exists(o.File("metrics.json")) ? Json(o.File("metrics.json"))["environment"] : null)
                      ?? (File.Exists(top) ? Json(top)["environment"] : null);
            foreach (string k in new[] { "entk", "torchsharp", "libtorch", "lapack", "threads" })
                s.Provenance("cli." + k, (string?)env?[k]);
            return s;
        }
    }
}
