using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;

namespace Entk.Parity.Tests
{
    /// <summary>Bridge calls for a case folder and the resulting check reports (cached per case for the committed folders).</summary>
    public static class ReferenceResults
    {
        /// <summary>Checks a TMS case folder (the CLI's, or a perturbed copy) against the reference.</summary>
        public static CheckReport CheckTms(TmsCase c, string dir) => ParityChecks.Tms(c, dir, TmsCase(c, dir));

        /// <summary>Checks an MLP case folder against the reference.</summary>
        public static CheckReport CheckMlp(MlpCase c, string dir) =>
            ParityChecks.Mlp(c, dir, MlpCase(c, dir), MlpMetrics(c, dir), MlpDetails(c, dir));

        /// <summary><c>bridge.tms_case</c>, cached when <paramref name="dir"/> is the case's own CLI folder.</summary>
        public static JsonObject TmsCase(TmsCase c, string dir) =>
            Cached(c, dir, "tms_case", () => PythonReference.Bridge("tms_case", new { case_dir = dir, beta_list = c.Betas, k = c.TopK, rel_gap = Tolerances.BlockGap }));

        /// <summary><c>bridge.mlp_case</c> with the case's reference method.</summary>
        public static JsonObject MlpCase(MlpCase c, string dir) =>
            Cached(c, dir, "mlp_case", () => PythonReference.Bridge("mlp_case", new { case_dir = dir, k = c.TopK, method = c.ReferenceMethod, rel_gap = Tolerances.BlockGap }));

        /// <summary><c>bridge.mlp_metrics_case</c> on the C# eigenvectors, with the rotated heatmaps.</summary>
        public static JsonObject MlpMetrics(MlpCase c, string dir) =>
            Cached(c, dir, "mlp_metrics_case", () => PythonReference.Bridge("mlp_metrics_case", new { case_dir = dir, p = c.Modulus, return_heatmaps = true }));

        /// <summary>Singular values and un-rotated heatmaps of the C# cliffs (glue module), at the paper's layout.</summary>
        public static IReadOnlyDictionary<string, JsonObject> MlpDetails(MlpCase c, string dir)
        {
            int k = c.Frequencies;
            return ParityChecks.Alignments.ToDictionary(a => a.Name, a => Cached(c, dir, "detail." + a.Name, () => PythonReference.Support("mlp_cliff_detail", new
            {
                eigenvectors_file = Path.Combine(dir, a.Vectors),
                p = c.Modulus,
                start = a.Cliff == 0 ? 1 : 1 + 4 * k,
                size = 4 * k,
                families = new[] { a.First, a.Second },
            })));
        }

        private static JsonObject Cached(ParityCase c, string dir, string key, System.Func<JsonObject> compute)
        {
            bool own = Path.GetFullPath(dir) == Path.GetFullPath(CaseStore.Get(c).Directory);
            return own ? CaseStore.Reference(c, key, compute) : compute();
        }
    }
}
