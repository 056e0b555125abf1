using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Entk.Internal;

namespace Entk.Linalg
{
    /// <summary>A sharp drop between eigenvalue <see cref="Index"/> and <see cref="Index"/> + 1.</summary>
    public sealed class SpectralDrop
    {
        internal SpectralDrop(int index, double ratio, double prominence)
        {
            Index = index;
            Ratio = ratio;
            Prominence = prominence;
        }

        /// <summary>The last index before the drop (0-based, descending order).</summary>
        public int Index { get; }

        /// <summary>λ_Index / λ_{Index+1} (∞ when the next eigenvalue is numerically zero).</summary>
        public double Ratio { get; }

        /// <summary>The log-gap divided by the median log-gap of its neighbourhood (how much it stands out).</summary>
        public double Prominence { get; }

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "drop after {0}: ×{1:G4} (prominence {2:G3})", Index, Ratio, Prominence);
    }

    /// <summary>A cliff: the block of eigenpairs [Start, End] (inclusive) that sits on a plateau before a drop.</summary>
    public sealed class Cliff
    {
        internal Cliff(int start, int end, double dropRatio)
        {
            Start = start;
            End = end;
            DropRatio = dropRatio;
        }

        /// <summary>First index of the block.</summary>
        public int Start { get; }

        /// <summary>Last index of the block (the drop follows it).</summary>
        public int End { get; }

        /// <summary>Number of eigenpairs in the block.</summary>
        public int Size => End - Start + 1;

        /// <summary>λ_End / λ_{End+1}.</summary>
        public double DropRatio { get; }

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "[{0}..{1}] (size {2}, drop ×{3:G4})", Start, End, Size, DropRatio);
    }

    /// <summary>The parameters of the cliff rule (see <see cref="CliffDetector"/>). Defaults are documented per member.</summary>
    public sealed record CliffOptions
    {
        /// <summary>Minimum ratio λ_i/λ_{i+1} for a drop (default 1.1).</summary>
        public double MinRatio { get; init; } = 1.1;

        /// <summary>Minimum prominence: log-gap over the neighbourhood's median log-gap (default 4).</summary>
        public double MinProminence { get; init; } = 4;

        /// <summary>Half-width w of the neighbourhood (gaps i−w..i+w, excluding i; default 10).</summary>
        public int Window { get; init; } = 10;

        /// <summary>Eigenvalues at or below this fraction of λ_0 count as numerically zero (default 1e-12).</summary>
        public double ZeroTolerance { get; init; } = 1e-12;
    }

    /// <summary>The cliffs of a spectrum.</summary>
    public sealed class CliffReport
    {
        internal CliffReport(IReadOnlyList<SpectralDrop> drops, IReadOnlyList<Cliff> cliffs)
        {
            Drops = ReadOnly.Copy(drops);
            Cliffs = ReadOnly.Copy(cliffs);
        }

        /// <summary>All detected drops, by index.</summary>
        public IReadOnlyList<SpectralDrop> Drops { get; }

        /// <summary>The blocks between consecutive drops: [0, d₁], [d₁+1, d₂], … (the tail after the last drop is not a cliff).</summary>
        public IReadOnlyList<Cliff> Cliffs { get; }

        /// <summary>The indices after which a drop occurs.</summary>
        public IReadOnlyList<int> DropIndices => Drops.Select(d => d.Index).ToArray();

        /// <inheritdoc />
        public override string ToString() => Cliffs.Count == 0 ? "no cliffs" : string.Join("; ", Cliffs);
    }

    /// <summary>
    /// Finds spectral cliffs by a fixed, documented rule, so that nobody has to read them off a plot.
    /// For eigenvalues λ_0 ≥ λ_1 ≥ … (descending, as given) let g_i = ln(λ_i / λ_{i+1}) be the
    /// log-gaps. Gap i is a drop when (1) λ_i/λ_{i+1} ≥ MinRatio and (2) g_i ≥ MinProminence · m_i,
    /// where m_i is the median of the gaps g_j for j in [i − w, i + w], j ≠ i (w = Window; gaps to
    /// numerically-zero eigenvalues excluded; m_i floored at 1e-3·MinRatio's log so a perfectly flat
    /// neighbourhood still needs a real ratio). A drop onto a numerically-zero eigenvalue
    /// (λ_{i+1} ≤ ZeroTolerance·λ_0, with λ_i above it) is always a drop, with ratio ∞. Cliffs are the
    /// blocks between consecutive drops.
    /// </summary>
    public static class CliffDetector
    {
        /// <summary>Detects drops and cliffs.</summary>
        /// <param name="eigenvalues">Eigenvalues in descending order (as returned by Entk), finite.</param>
        /// <param name="options">Rule parameters (default <see cref="CliffOptions"/>).</param>
        /// <returns>The report.</returns>
        /// <exception cref="EntkArgumentException">Not descending, non-finite, or bad options.</exception>
        public static CliffReport Detect(IReadOnlyList<double> eigenvalues, CliffOptions? options = null)
        {
            Check.NotNull(eigenvalues, nameof(eigenvalues));
            var o = options ?? new CliffOptions();
            Check.InRange(o.MinRatio, 1, double.MaxValue, nameof(options) + ".MinRatio");
            Check.InRange(o.MinProminence, 0, double.MaxValue, nameof(options) + ".MinProminence");
            Check.Positive(o.Window, nameof(options) + ".Window");
            Check.InRange(o.ZeroTolerance, 0, 1, nameof(options) + ".ZeroTolerance");
            int n = eigenvalues.Count;
            for (int i = 0; i < n; i++)
            {
                Check.Finite(eigenvalues[i], nameof(eigenvalues));
                if (i > 0 && eigenvalues[i] > eigenvalues[i - 1] * (1 + 1e-12) + 1e-300)
                    throw new EntkArgumentException(nameof(eigenvalues), "values in descending order", Check.Inv($"λ[{i}] = {Check.R(eigenvalues[i])} > λ[{i - 1}] = {Check.R(eigenvalues[i - 1])}"));
            }
            var drops = new List<SpectralDrop>();
            if (n < 2 || eigenvalues[0] <= 0) return new CliffReport(drops, Array.Empty<Cliff>());
            double zero = o.ZeroTolerance * eigenvalues[0];
            var gaps = new double[n - 1];
            var valid = new bool[n - 1];
            for (int i = 0; i < n - 1; i++)
            {
                valid[i] = eigenvalues[i + 1] > zero;
                gaps[i] = valid[i] ? Math.Log(eigenvalues[i] / eigenvalues[i + 1]) : double.PositiveInfinity;
            }
            double floor = 1e-3 * Math.Log(o.MinRatio);
            for (int i = 0; i < n - 1; i++)
            {
                if (!valid[i])
                {
                    if (eigenvalues[i] > zero) drops.Add(new SpectralDrop(i, double.PositiveInfinity, double.PositiveInfinity));
                    continue;
                }
                if (gaps[i] < Math.Log(o.MinRatio)) continue;
                var neighbours = new List<double>();
                for (int j = Math.Max(0, i - o.Window); j <= Math.Min(n - 2, i + o.Window); j++)
                    if (j != i && valid[j]) neighbours.Add(gaps[j]);
                double median = neighbours.Count == 0 ? floor : Median(neighbours);
                double prominence = gaps[i] / Math.Max(median, floor);
                if (prominence >= o.MinProminence)
                    drops.Add(new SpectralDrop(i, eigenvalues[i] / eigenvalues[i + 1], prominence));
            }
            var cliffs = new List<Cliff>();
            int start = 0;
            foreach (var d in drops)
            {
                cliffs.Add(new Cliff(start, d.Index, d.Ratio));
                start = d.Index + 1;
            }
            return new CliffReport(drops, cliffs);
        }

        private static double Median(List<double> v)
        {
            v.Sort();
            int m = v.Count / 2;
            return v.Count % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
        }
    }
}
