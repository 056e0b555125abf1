using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Entk.Internal;

namespace Entk.Metrics
{
    /// <summary>
    /// Which row (e.g. (family, frequency)) each column (e.g. rotated atom) of a heatmap aligns with best,
    /// and how many rows are covered. Immutable.
    /// </summary>
    public sealed class AtomAssignmentSummary
    {
        internal AtomAssignmentSummary(double threshold, string[] rowLabels, int[] bestRow, double[] bestValue)
        {
            Threshold = threshold;
            RowLabels = Array.AsReadOnly(rowLabels);
            BestRow = Array.AsReadOnly(bestRow);
            BestValue = Array.AsReadOnly(bestValue);
            BestLabel = Array.AsReadOnly(bestRow.Select(r => rowLabels[r]).ToArray());
            var atoms = new int[rowLabels.Length];
            int aligned = 0;
            for (int j = 0; j < bestRow.Length; j++)
            {
                if (bestValue[j] >= threshold)
                {
                    aligned++;
                    atoms[bestRow[j]]++;
                }
            }
            AtomsPerRow = Array.AsReadOnly(atoms);
            AlignedCount = aligned;
            CoveredRows = Array.AsReadOnly(Enumerable.Range(0, atoms.Length).Where(r => atoms[r] > 0).ToArray());
        }

        /// <summary>The alignment threshold (default 0.9).</summary>
        public double Threshold { get; }

        /// <summary>Number of rows R.</summary>
        public int RowCount => RowLabels.Count;

        /// <summary>Number of columns (atoms).</summary>
        public int ColumnCount => BestRow.Count;

        /// <summary>The row labels (e.g. "n k=3"; "row i" when none were given).</summary>
        public IReadOnlyList<string> RowLabels { get; }

        /// <summary>For each column, the row with the largest value (the first one on ties).</summary>
        public IReadOnlyList<int> BestRow { get; }

        /// <summary>For each column, that largest value.</summary>
        public IReadOnlyList<double> BestValue { get; }

        /// <summary>For each column, the label of its best row.</summary>
        public IReadOnlyList<string> BestLabel { get; }

        /// <summary>For each row, the number of columns whose best row it is with value ≥ <see cref="Threshold"/>.</summary>
        public IReadOnlyList<int> AtomsPerRow { get; }

        /// <summary>The distinct rows that are the best row of some column with value ≥ <see cref="Threshold"/>, ascending.</summary>
        public IReadOnlyList<int> CoveredRows { get; }

        /// <summary>Coverage: the number of <see cref="CoveredRows"/>.</summary>
        public int Coverage => CoveredRows.Count;

        /// <summary>Number of columns whose best value is ≥ <see cref="Threshold"/>.</summary>
        public int AlignedCount { get; }

        /// <summary>AlignedCount / ColumnCount.</summary>
        public double AlignedFraction => (double)AlignedCount / ColumnCount;

        /// <summary>True when every row is covered (Coverage = RowCount).</summary>
        public bool AllRowsCovered => Coverage == RowCount;

        /// <summary>True when every column is aligned (AlignedCount = ColumnCount).</summary>
        public bool AllColumnsAligned => AlignedCount == ColumnCount;

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture,
            "{0}/{1} atoms ≥ {2}; {3}/{4} rows covered", AlignedCount, ColumnCount, Threshold, Coverage, RowCount);
    }

    /// <summary>
    /// Best-row summary of a heatmap, used to check claims such as "every rotated atom aligns ≥ 0.9 with
    /// one (operand, frequency) and all 28 are covered" (AllColumnsAligned and AllRowsCovered).
    /// </summary>
    public static class AtomAssignment
    {
        /// <summary>Summarises a stacked Fourier heatmap (rows = (family, frequency), columns = atoms).</summary>
        /// <param name="heatmap">The heatmap (e.g. from <see cref="PhaseInsensitiveCorrelation.Stacked"/>).</param>
        /// <param name="threshold">Alignment threshold, finite (default 0.9).</param>
        /// <returns>The summary, with the heatmap's row labels.</returns>
        /// <exception cref="ArgumentNullException">heatmap is null.</exception>
        /// <exception cref="NonFiniteValueException">threshold is not finite.</exception>
        public static AtomAssignmentSummary Summarize(FourierHeatmap heatmap, double threshold = 0.9)
        {
            Check.NotNull(heatmap, nameof(heatmap));
            return Summarize(heatmap.Values, threshold, heatmap.RowLabels);
        }

        /// <summary>Summarises any R × k heatmap (rows = candidate features, columns = atoms).</summary>
        /// <param name="heatmap">R × k matrix, non-empty, finite.</param>
        /// <param name="threshold">Alignment threshold, finite (default 0.9).</param>
        /// <param name="rowLabels">R labels, or null for "row 0", "row 1", ….</param>
        /// <returns>The summary.</returns>
        /// <exception cref="ArgumentNullException">heatmap is null.</exception>
        /// <exception cref="ShapeMismatchException">Empty heatmap, or rowLabels of the wrong length.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity in heatmap or threshold.</exception>
        public static AtomAssignmentSummary Summarize(Matrix heatmap, double threshold = 0.9, IReadOnlyList<string>? rowLabels = null)
        {
            MetricsUtil.NonEmptyFinite(heatmap, nameof(heatmap));
            Check.Finite(threshold, nameof(threshold));
            int r = heatmap.Rows, k = heatmap.Columns;
            if (rowLabels is not null && rowLabels.Count != r)
                throw new ShapeMismatchException(nameof(rowLabels), Check.Inv($"[{r}] (one label per heatmap row)"), Check.Inv($"[{rowLabels.Count}]"));
            var labels = rowLabels?.ToArray() ?? Enumerable.Range(0, r).Select(i => "row " + i.ToString(CultureInfo.InvariantCulture)).ToArray();
            var s = heatmap.Span;
            var best = new int[k];
            var bestValue = new double[k];
            for (int j = 0; j < k; j++)
            {
                int bi = 0;
                double bv = s[j];
                for (int i = 1; i < r; i++)
                    if (s[i * k + j] > bv) { bv = s[i * k + j]; bi = i; }
                best[j] = bi;
                bestValue[j] = bv;
            }
            return new AtomAssignmentSummary(threshold, labels, best, bestValue);
        }
    }
}
