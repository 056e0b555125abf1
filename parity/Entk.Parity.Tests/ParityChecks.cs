using Entk.IO;
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// Tolerances of the parity suite (all float64). The measured values on the development machine are 3–5
    /// orders of magnitude below them (see the test logs); they are loose enough for BLAS/LAPACK differences
    /// between oneMKL (C#, libtorch 2.10) and OpenBLAS (Python, torch 1.13) and tight enough that a 1e-6
    /// relative perturbation of one entry fails (PerturbationTests).
    /// </summary>
    public static class Tolerances
    {
        /// <summary>Kernels and Jacobians: max|a − ref| / max|ref|.</summary>
        public const double Kernel = 1e-9;

        /// <summary>Eigenvalues: max_i |λ_i − λref_i| / max(|λref_i|, <see cref="EigenvalueFloor"/>·λref_0).</summary>
        public const double Eigenvalue = 1e-9;

        /// <summary>
        /// Eigenvalues ≥ 1e-4·λ_0 are compared relative to themselves (≤ 1e-9), smaller ones relative to 1e-4·λ_0
        /// (i.e. ≤ 1e-13·λ_0 absolutely). A backward-stable eigensolver determines λ_i only to ~ε·λ_0 absolutely, i.e.
        /// to ε·λ_0/λ_i relatively: ≤ 2e-12 above the floor, but pure rounding noise for ridge-level eigenvalues (e.g.
        /// the null space of the rank-H layer-2 kernel, λ ≈ 1e-10·λ_0, measured 3e-16·λ_0 apart = 3e-6 of themselves).
        /// </summary>
        public const double EigenvalueFloor = 1e-4;

        /// <summary>Largest principal angle (radians) between C# and reference eigenvector blocks (blocks of
        /// reference eigenvalues separated by a relative gap &gt; 1e-6; never compared vector by vector or by sign).</summary>
        public const double SubspaceAngle = 1e-6;

        /// <summary>Eigenpair residual max_i ‖K e_i − λ_i e_i‖ / λ_0 of the C# eigenpairs against the reference kernel.</summary>
        public const double Residual = 1e-9;

        /// <summary>Metrics (MMCS, matched score, overlaps, correlations, heatmaps): absolute.</summary>
        public const double Metric = 1e-8;

        /// <summary>Training (same seed, same steps): max|a − ref| / max|ref| of the trained weights and losses.</summary>
        public const double Training = 1e-12;

        /// <summary>
        /// Relative eigenvalue gap (λ_i − λ_{i+1}) / λ_i that separates eigenvector blocks in the bridge's subspace
        /// comparison (its <c>rel_gap</c>; default 1e-6). 1e-4 is used because the bridge measures the gap relative to
        /// λ_i: ridge-level eigenvalues of a rank-deficient kernel (null space; λ ≈ ridge ≈ 1e-10·λ_0, rounding noise
        /// ≈ 1e-16·λ_0, i.e. ~1e-6 of themselves) would otherwise be split into blocks whose vectors are arbitrary
        /// (observed: 1.57 rad in TmsSmall_N10M3_S0.7_Seed7, β = 1, where k = P = 40 reaches the null space). Merging
        /// blocks only weakens the vector check to a subspace check; the per-eigenpair residual is unaffected.
        /// </summary>
        public const double BlockGap = 1e-4;
    }

    /// <summary>The comparisons of one case: bridge result + C# files → a <see cref="CheckReport"/>.</summary>
    public static class ParityChecks
    {
        /// <summary>TMS: Jacobian, kernels, eigenvalues, eigenvector subspaces, residuals, heatmaps, metrics.</summary>
        public static CheckReport Tms(TmsCase c, string dir, JsonObject r)
        {
            var rep = new CheckReport(c.Name);
            rep.True("route", (string?)r["route"] == c.ExpectedRoute, "reference route " + (string?)r["route"]);
            rep.Equal("k", (int)r["k"]!, c.EffectiveK);
            if (c.WriteKernels) rep.AtMost("jacobian.max_rel_err", D(r["jacobian_max_rel_err"]), Tolerances.Kernel);
            var results = r["results"]!.AsArray().Select(x => x!.AsObject()).ToArray();
            rep.Equal("betas", results.Length, c.Betas.Count);
            bool nonDegenerate = true;
            foreach (var b in results)
            {
                string tag = (string)b["beta_tag"]!;
                string p = "beta" + tag + ".";
                if (c.WriteKernels) rep.AtMost(p + "kernel.max_rel_err", D(b["kernel_max_rel_err"]), Tolerances.Kernel);
                else rep.True(p + "kernel.absent", b["kernel_max_rel_err"] is null, "no explicit kernel at paper size");
                CheckEigenvalues(rep, p, Path.Combine(dir, "eigenvalues_beta" + tag + ".npy"), Array(b["eigenvalues"]), c.EffectiveK);
                CheckEigenvectors(rep, p, b, c.EffectiveK);
                rep.AtMost(p + "heatmap.same_vectors_max_abs_err", D(b["heatmap_same_vectors_max_abs_err"]), Tolerances.Metric);
                int largest = (int)b["eigvec_largest_block"]!;
                bool truncated = b["eigvec_truncated_block"] is not null;
                nonDegenerate &= largest == 1 && !truncated;
                // Against the reference's own eigenvectors the heatmap is defined only up to rotations inside degenerate
                // blocks (and a block cut by the top-k boundary, e.g. the null space, is arbitrary); with neither, every
                // vector is determined up to sign (the heatmap uses |cos|) and must agree to the subspace tolerance.
                if (largest == 1 && !truncated) rep.AtMost(p + "heatmap.own_vectors_max_abs_err", D(b["heatmap_max_abs_err"]), Tolerances.SubspaceAngle);
                else rep.Info(p + "heatmap.own_vectors_max_abs_err", D(b["heatmap_max_abs_err"]),
                    "not compared: largest block " + largest + (truncated ? ", truncated block " + b["eigvec_truncated_block"]!.ToJsonString() : ""));
            }

            var compare = r["metrics_compare"]?.AsObject();
            rep.True("metrics.json compared", compare is not null, "metrics.json present and compared");
            var required = new List<string> { "reconstructed_count" };
            foreach (double beta in c.Betas)
                foreach (string m in new[] { "mmcs", "matched_score", "diagonal_count" })
                    required.Add("beta" + TmsCase.Tag(beta) + "." + m);
            foreach (string key in required)
            {
                var e = compare?[key]?.AsObject();
                rep.AtMost("metric." + key + " (same vectors)", e is null ? null : D(e["abs_err"]), Tolerances.Metric);
                if (e is null || key == "reconstructed_count") continue;
                double? own = e["reference_own_vectors"] is null ? null : Math.Abs(D(e["csharp"])!.Value - D(e["reference_own_vectors"])!.Value);
                if (nonDegenerate) rep.AtMost("metric." + key + " (own vectors)", own, Tolerances.Metric);
                else rep.Info("metric." + key + " (own vectors)", own, "not compared: degenerate or truncated eigenvalue blocks make vector metrics basis-dependent");
            }
            return rep;
        }

        /// <summary>
        /// MLP: kernels (full, layer1 = W1, layer2 = W2), eigenvalues, eigenvector subspaces and residuals from
        /// <c>mlp_case</c>; the C# cliff alignment (overlaps, singular values, heatmaps before/after the two-stage
        /// rotation, best atom values/rows, aligned atoms, covered rows) against the reference formulas applied to
        /// the C# eigenvectors (<c>mlp_metrics_case</c> + glue); cliff overlaps also against the reference's own
        /// eigenvectors (a subspace property, basis-independent).
        /// </summary>
        public static CheckReport Mlp(MlpCase c, string dir, JsonObject r, JsonObject metrics, IReadOnlyDictionary<string, JsonObject> details)
        {
            var rep = new CheckReport(c.Name);
            rep.Equal("p", (int)r["p"]!, c.Modulus);
            rep.Equal("k", (int)r["k"]!, c.EffectiveK);
            rep.True("method", (string?)r["method"] == c.ReferenceMethod, "reference kernels by " + (string?)r["method"]);
            rep.AtMost("reference.closed_form_vs_method", D(r["closed_form_max_rel_err"]), Tolerances.Kernel);
            rep.AtMost("reference.layer_sum", D(r["layer_sum_max_rel_err"]), Tolerances.Kernel);
            foreach (var (cs, rk) in new[] { ("full", "full"), ("layer1", "W1"), ("layer2", "W2") })
            {
                var k = r["kernels"]![rk]!.AsObject();
                string p = cs + ".";
                rep.AtMost(p + "kernel.max_rel_err", D(k["kernel_max_rel_err"]), Tolerances.Kernel);
                CheckEigenvalues(rep, p, Path.Combine(dir, "eigenvalues_" + cs + ".npy"), Array(k["eigenvalues"]), c.EffectiveK);
                CheckEigenvectors(rep, p, k, c.EffectiveK);
            }

            var csm = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "metrics.json")))!.AsObject();
            var m = metrics["metrics"]!.AsObject();
            var heat = metrics["heatmaps"]!.AsObject();
            var own = r["metrics"]!.AsObject();
            int K = c.Frequencies;
            foreach (var a in Alignments)
            {
                string p = a.Name + ".";
                var cs = csm["alignment"]?[a.Name]?.AsObject();
                if (cs is null)
                {
                    rep.True(p + "present", false, "metrics.json has no alignment." + a.Name);
                    continue;
                }
                string key = a.ReferenceKernel + ".cliff" + a.Cliff.ToString(CultureInfo.InvariantCulture);
                int start = (int)cs["start"]!, size = (int)cs["size"]!;
                rep.Equal(p + "start", start, a.Cliff == 0 ? 1 : 1 + 4 * K);
                rep.Equal(p + "size", size, 4 * K);
                rep.AtMost(p + "overlap_" + a.First, Math.Abs(D(cs["overlap_first_family"])!.Value - D(m[key + ".overlap_" + a.First])!.Value), Tolerances.Metric);
                rep.AtMost(p + "overlap_" + a.Second, Math.Abs(D(cs["overlap_second_family"])!.Value - D(m[key + ".overlap_" + a.Second])!.Value), Tolerances.Metric);
                rep.AtMost(p + "overlap_" + a.First + " (own vectors)", Math.Abs(D(cs["overlap_first_family"])!.Value - D(own[key + ".overlap_" + a.First])!.Value), Tolerances.Metric);
                rep.AtMost(p + "overlap_" + a.Second + " (own vectors)", Math.Abs(D(cs["overlap_second_family"])!.Value - D(own[key + ".overlap_" + a.Second])!.Value), Tolerances.Metric);

                var det = details[a.Name];
                var sv = det["singular_values"]!.AsArray();
                rep.AtMost(p + "singular_values_" + a.First, MaxAbsDiff(Array(cs["singular_values_first_family"]), Array(sv[0])), Tolerances.Metric);
                rep.AtMost(p + "singular_values_" + a.Second, MaxAbsDiff(Array(cs["singular_values_second_family"]), Array(sv[1])), Tolerances.Metric);

                var before = Npy.Read(Path.Combine(dir, "heatmap_" + a.Name + "_before.npy"));
                rep.AtMost(p + "heatmap_before", MaxAbsDiff(before.Float64(), Array(det["heatmap_before"]), before.Shape, Ints(det["heatmap_before_shape"])), Tolerances.Metric);
                var after = Npy.Read(Path.Combine(dir, "heatmap_" + a.Name + "_after.npy"));
                double[] refAfter = Array(heat[key]);
                int[] refShape = Ints(heat[key + "_shape"]);
                rep.AtMost(p + "heatmap_after (rotated)", MaxAbsDiff(after.Float64(), refAfter, after.Shape, refShape), Tolerances.Metric);

                double[] bestValue = Array(cs["best_value_per_atom"]);
                rep.AtMost(p + "best_value_mean", Math.Abs(bestValue.Average() - D(m[key + ".rot_corr_max_mean"])!.Value), Tolerances.Metric);
                rep.AtMost(p + "best_value_min", Math.Abs(bestValue.Min() - D(m[key + ".rot_corr_max_min"])!.Value), Tolerances.Metric);
                rep.Equal(p + "distinct_best_rows", Ints(cs["best_row_per_atom"]).Distinct().Count(), (int)m[key + ".rot_distinct_rows"]!);
                CheckAssignment(rep, p, cs, refAfter, refShape);
            }
            return rep;
        }

        /// <summary>The C# cliff alignments and their reference counterparts.</summary>
        public static readonly (string Name, string ReferenceKernel, int Cliff, string First, string Second, string Vectors)[] Alignments =
        {
            ("first_layer1", "W1", 0, "n", "m", "eigenvectors_layer1.npy"),
            ("first_full", "full", 0, "n", "m", "eigenvectors_full.npy"),
            ("second_full", "full", 1, "sum", "diff", "eigenvectors_full.npy"),
        };

        /// <summary>Per atom: the C# best value/row against the column maximum/argmax of the reference heatmap (rows
        /// whose top two values are within 1e-8 are ties and not compared); aligned atoms and covered rows exactly.</summary>
        private static void CheckAssignment(CheckReport rep, string p, JsonObject cs, double[] h, int[] shape)
        {
            int rows = shape[0], cols = shape[1];
            double[] bestValue = Array(cs["best_value_per_atom"]);
            int[] bestRow = Ints(cs["best_row_per_atom"]);
            double threshold = D(cs["threshold"])!.Value;
            if (bestValue.Length != cols || bestRow.Length != cols)
            {
                rep.True(p + "atoms", false, "C# has " + bestValue.Length + " atoms, reference heatmap " + cols);
                return;
            }
            double maxErr = 0;
            int rowMismatch = 0, ties = 0, nearThreshold = 0, aligned = 0;
            var covered = new HashSet<int>();
            for (int j = 0; j < cols; j++)
            {
                int arg = 0;
                double best = double.NegativeInfinity, second = double.NegativeInfinity;
                for (int i = 0; i < rows; i++)
                {
                    double v = h[i * cols + j];
                    if (v > best) { second = best; best = v; arg = i; }
                    else if (v > second) second = v;
                }
                maxErr = Math.Max(maxErr, Math.Abs(best - bestValue[j]));
                if (best - second <= Tolerances.Metric) ties++;
                else if (arg != bestRow[j]) rowMismatch++;
                if (Math.Abs(best - threshold) <= Tolerances.Metric) nearThreshold++;
                if (best >= threshold) { aligned++; covered.Add(arg); }
            }
            rep.AtMost(p + "best_value_per_atom", maxErr, Tolerances.Metric);
            rep.Equal(p + "best_row_mismatches", rowMismatch, 0);
            if (ties > 0) rep.Info(p + "best_row_ties", ties, "atoms whose top two rows are within 1e-8 (not compared)");
            if (nearThreshold == 0 && ties == 0)
            {
                rep.Equal(p + "aligned_atoms", (int)cs["aligned_atoms"]!, aligned);
                rep.Equal(p + "covered_rows", (int)cs["covered_rows"]!, covered.Count);
            }
            else
            {
                rep.Info(p + "aligned_atoms", (int)cs["aligned_atoms"]!, "reference " + aligned + " (ties/threshold-adjacent values present)");
            }
        }

        internal static void CheckEigenvalues(CheckReport rep, string p, string csFile, double[] reference, int k)
        {
            double[] cs = Npy.Read(csFile).Float64();
            rep.Equal(p + "eigenvalues.count", cs.Length, k);
            rep.Equal(p + "eigenvalues.reference_count", reference.Length, k);
            rep.AtMost(p + "eigenvalues.max_rel_err", ScaledEigenvalueError(cs, reference), Tolerances.Eigenvalue);
            rep.Info(p + "eigenvalues.max_abs_err/λ0", reference.Length == cs.Length && reference.Length > 0
                ? ParityChecks.MaxAbsDiff(cs, reference) / Math.Abs(reference[0]) : null);
        }

        internal static void CheckEigenvectors(CheckReport rep, string p, JsonObject b, int k)
        {
            rep.Equal(p + "eigenvectors.compared", (int)b["eigvec_compared"]!, k);
            double? blocks = D(b["eigvec_max_angle_blocks"]);
            double? topk = D(b["eigvec_max_angle_topk"]);
            rep.True(p + "eigenvectors.some_block_compared", blocks.HasValue || topk.HasValue,
                "blocks " + (int)b["eigvec_n_blocks"]! + ", largest " + (int)b["eigvec_largest_block"]! + ", truncated " + (b["eigvec_truncated_block"]?.ToJsonString() ?? "none"));
            rep.AtMost(p + "eigenvectors.max_angle_blocks_rad", blocks, Tolerances.SubspaceAngle, required: false);
            rep.AtMost(p + "eigenvectors.max_angle_topk_rad", topk, Tolerances.SubspaceAngle, required: false);
            rep.AtMost(p + "eigenpairs.residual", D(b["eigpair_residual_max"]), Tolerances.Residual);
        }

        /// <summary>max_i |a_i − r_i| / max(|r_i|, floor·|r_0|); infinite if the lengths differ.</summary>
        public static double ScaledEigenvalueError(IReadOnlyList<double> a, IReadOnlyList<double> r)
        {
            if (a.Count != r.Count || r.Count == 0) return double.PositiveInfinity;
            double floor = Tolerances.EigenvalueFloor * Math.Abs(r[0]);
            double worst = 0;
            for (int i = 0; i < r.Count; i++) worst = Math.Max(worst, Math.Abs(a[i] - r[i]) / Math.Max(Math.Abs(r[i]), floor));
            return worst;
        }

        /// <summary>max|a − b| (infinite if the lengths or the given shapes differ).</summary>
        public static double MaxAbsDiff(IReadOnlyList<double> a, IReadOnlyList<double> b, System.Collections.Generic.IReadOnlyList<int>? shapeA = null, System.Collections.Generic.IReadOnlyList<int>? shapeB = null)
        {
            if (a.Count != b.Count) return double.PositiveInfinity;
            if (shapeA is not null && shapeB is not null && !shapeA.SequenceEqual(shapeB)) return double.PositiveInfinity;
            double m = 0;
            for (int i = 0; i < a.Count; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
            return m;
        }

        /// <summary>max|a − b| / max|b|.</summary>
        public static double MaxRelDiff(IReadOnlyList<double> a, IReadOnlyList<double> b)
        {
            double scale = b.Count == 0 ? 0 : b.Max(Math.Abs);
            double d = MaxAbsDiff(a, b);
            return scale > 0 ? d / scale : d;
        }

        internal static double? D(JsonNode? n) => n is null ? null : (double)n;

        internal static double[] Array(JsonNode? n) => n is null ? System.Array.Empty<double>() : n.AsArray().Select(x => (double)x!).ToArray();

        internal static int[] Ints(JsonNode? n) => n is null ? System.Array.Empty<int>() : n.AsArray().Select(x => (int)x!).ToArray();

        internal static long[] Longs(JsonNode? n) => n is null ? System.Array.Empty<long>() : n.AsArray().Select(x => (long)x!).ToArray();
    }
}
