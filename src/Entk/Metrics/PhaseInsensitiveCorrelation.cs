using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;

namespace Entk.Metrics
{
    /// <summary>
    /// A stacked phase-insensitive correlation heatmap: rows are (family, frequency) pairs, family by
    /// family in the order given (e.g. rows 0..K−1 = "sum k=1..K", rows K..2K−1 = "diff k=1..K"),
    /// columns are the compared vectors. Immutable.
    /// </summary>
    public sealed class FourierHeatmap
    {
        internal FourierHeatmap(Matrix values, string[] families, int[] frequencies)
        {
            Values = values;
            RowFamilies = Array.AsReadOnly(families);
            RowFrequencies = Array.AsReadOnly(frequencies);
            RowLabels = Array.AsReadOnly(families.Select((f, i) => f + " k=" + frequencies[i].ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        }

        /// <summary>The heatmap, R × k (R = total number of frequencies over the families, k = number of vectors); entries in [0, 1].</summary>
        public Matrix Values { get; }

        /// <summary>Row labels "family k=frequency" (e.g. "sum k=3"), length R.</summary>
        public IReadOnlyList<string> RowLabels { get; }

        /// <summary>The family name of each row, length R.</summary>
        public IReadOnlyList<string> RowFamilies { get; }

        /// <summary>The frequency k of each row, length R.</summary>
        public IReadOnlyList<int> RowFrequencies { get; }

        /// <summary>Number of rows R.</summary>
        public int RowCount => Values.Rows;

        /// <summary>Number of columns (vectors) k.</summary>
        public int ColumnCount => Values.Columns;

        /// <summary>The row index of (family name, frequency), or −1 when absent.</summary>
        /// <param name="familyName">Family name as in <see cref="RowFamilies"/> (the <see cref="FourierFamily.Name"/> of a family stacked into the heatmap).</param>
        /// <param name="frequency">Frequency k.</param>
        /// <returns>Row index or −1.</returns>
        public int RowIndex(string familyName, int frequency)
        {
            for (int i = 0; i < RowCount; i++)
                if (RowFamilies[i] == familyName && RowFrequencies[i] == frequency) return i;
            return -1;
        }
    }

    /// <summary>
    /// Phase-insensitive Fourier correlation (docs/paper-notes.md §1.6 b): for unit vectors û_j and the
    /// normalised cos/sin columns ĉ_k, ŝ_k of a family, H[k, j] = sqrt((ĉ_k·û_j)² + (ŝ_k·û_j)²) ∈ [0, 1].
    /// </summary>
    /// <remarks>
    /// Exactly as the reference: û_j = u_j / (‖u_j‖ + 1e-12), ĉ_k = cos_k / (‖cos_k‖ + 1e-12),
    /// ŝ_k = sin_k / (‖sin_k‖ + 1e-12); no centring and no column normalisation of H. A vector that
    /// lies in span(cos_k, sin_k) scores 1 at k whatever its phase. A column of zeros scores 0
    /// everywhere; an identically zero family column (the sine of k = p/2 for even p) contributes 0.
    /// </remarks>
    /// <example>
    /// C#: <c>var h = PhaseInsensitiveCorrelation.Stacked(rotated.Rotated, FourierFamilies.Create("sum", 29), FourierFamilies.Create("diff", 29));</c>
    /// F#: <c>let h = PhaseInsensitiveCorrelation.Compute(vectors, FourierFamilies.Create("n", 29))</c>
    /// </example>
    public static class PhaseInsensitiveCorrelation
    {
        /// <summary>The correlation of each vector with each frequency of one family.</summary>
        /// <param name="vectors">N × k matrix of column vectors (N = p², row i = n·p + m), finite, k ≥ 1.</param>
        /// <param name="family">The family (its frequencies, in order, are the rows).</param>
        /// <returns>K × k matrix, row r = frequency family.Frequencies[r], column j = vector j.</returns>
        /// <exception cref="ArgumentNullException">A null argument.</exception>
        /// <exception cref="ShapeMismatchException">vectors is empty or has Rows ≠ p².</exception>
        /// <exception cref="NonFiniteValueException">vectors contains NaN or ±Infinity.</exception>
        public static Matrix Compute(Matrix vectors, FourierFamily family)
        {
            Check.NotNull(family, nameof(family));
            MetricsUtil.NonEmptyFinite(vectors, nameof(vectors));
            MetricsUtil.Rows(vectors, family.InputCount, nameof(vectors), Check.Inv($"Rows must be p² = {family.InputCount} (family '{family.Name}', p = {family.Modulus})."));
            return Core(MetricsUtil.NormalizeColumns(vectors, 1e-12), family);
        }

        /// <summary>Two families stacked vertically: rows first.Frequencies then second.Frequencies.</summary>
        /// <param name="vectors">N × k matrix of column vectors, finite, k ≥ 1.</param>
        /// <param name="first">Family of the first block of rows (e.g. "sum").</param>
        /// <param name="second">Family of the second block of rows (e.g. "diff"); same modulus.</param>
        /// <returns>The heatmap with (K1 + K2) rows and labels such as "sum k=3".</returns>
        /// <exception cref="ArgumentNullException">A null argument.</exception>
        /// <exception cref="EntkArgumentException">The families have different moduli.</exception>
        /// <exception cref="ShapeMismatchException">vectors is empty or has Rows ≠ p².</exception>
        /// <exception cref="NonFiniteValueException">vectors contains NaN or ±Infinity.</exception>
        public static FourierHeatmap Stacked(Matrix vectors, FourierFamily first, FourierFamily second)
        {
            Check.NotNull(first, nameof(first));
            Check.NotNull(second, nameof(second));
            if (second.Modulus != first.Modulus)
                throw new EntkArgumentException(nameof(second), Check.Inv($"a family with modulus p = {first.Modulus} (as '{first.Name}')"), Check.Inv($"p = {second.Modulus}"));
            return Heatmap(vectors, new[] { first, second });
        }

        /// <summary>Any number of families stacked vertically, in the order given.</summary>
        /// <param name="vectors">N × k matrix of column vectors, finite, k ≥ 1.</param>
        /// <param name="families">At least one family, all with the same modulus p (N = p²).</param>
        /// <returns>The heatmap with Σ K_f rows.</returns>
        /// <exception cref="ArgumentNullException">A null argument or family.</exception>
        /// <exception cref="EntkArgumentException">No family, or families with different moduli.</exception>
        /// <exception cref="ShapeMismatchException">vectors is empty or has Rows ≠ p².</exception>
        /// <exception cref="NonFiniteValueException">vectors contains NaN or ±Infinity.</exception>
        public static FourierHeatmap Heatmap(Matrix vectors, IReadOnlyList<FourierFamily> families)
        {
            Check.NotNull(families, nameof(families));
            if (families.Count == 0) throw new EntkArgumentException(nameof(families), "at least one family", "an empty list");
            for (int f = 0; f < families.Count; f++)
            {
                if (families[f] is null) throw new ArgumentNullException(nameof(families), Check.Inv($"families[{f}] is null"));
                if (families[f].Modulus != families[0].Modulus)
                    throw new EntkArgumentException(nameof(families), Check.Inv($"families with one modulus (p = {families[0].Modulus})"), Check.Inv($"families[{f}] ('{families[f].Name}') with p = {families[f].Modulus}"));
            }
            MetricsUtil.NonEmptyFinite(vectors, nameof(vectors));
            MetricsUtil.Rows(vectors, families[0].InputCount, nameof(vectors), Check.Inv($"Rows must be p² = {families[0].InputCount} (p = {families[0].Modulus})."));
            var u = MetricsUtil.NormalizeColumns(vectors, 1e-12);
            int k = vectors.Columns;
            int rows = families.Sum(f => f.FrequencyCount);
            var d = new double[(long)rows * k];
            var names = new List<string>();
            var freqs = new List<int>();
            int r0 = 0;
            foreach (var fam in families)
            {
                var block = Core(u, fam);
                block.Span.CopyTo(d.AsSpan(r0 * k, block.Rows * k));
                r0 += block.Rows;
                names.AddRange(Enumerable.Repeat(fam.Name, fam.FrequencyCount));
                freqs.AddRange(fam.Frequencies);
            }
            return new FourierHeatmap(Matrix.Wrap(rows, k, d), names.ToArray(), freqs.ToArray());
        }

        /// <summary>H for already-normalised vectors.</summary>
        private static Matrix Core(Matrix unitVectors, FourierFamily family)
        {
            var f = MetricsUtil.NormalizeColumns(family.ToMatrix(), 1e-12);
            var g = MetricsUtil.TransposeTimes(f, unitVectors); // 2K × k
            int kk = family.FrequencyCount, k = unitVectors.Columns;
            var gs = g.Span;
            var h = new double[(long)kk * k];
            for (int r = 0; r < kk; r++)
                for (int j = 0; j < k; j++)
                {
                    double c = gs[2 * r * k + j], s = gs[(2 * r + 1) * k + j];
                    h[r * k + j] = Math.Sqrt(c * c + s * s);
                }
            return Matrix.Wrap(kk, k, h);
        }
    }
}
