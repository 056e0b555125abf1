using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Entk.Internal;

namespace Entk.Metrics
{
    /// <summary>
    /// The Fourier power of a token embedding and the key frequencies read off it (docs/paper-notes.md §2.3.3).
    /// Immutable.
    /// </summary>
    public sealed class KeyFrequencyResult
    {
        internal KeyFrequencyResult(int p, double[] power, int[] key, int[] ranked, double gapRatio, double fraction)
        {
            Modulus = p;
            Power = Array.AsReadOnly(power);
            Frequencies = Array.AsReadOnly(key);
            Ranked = Array.AsReadOnly(ranked);
            GapRatio = gapRatio;
            PowerFraction = fraction;
        }

        /// <summary>The modulus p (number of token rows transformed).</summary>
        public int Modulus { get; }

        /// <summary>
        /// Power P_k = mean over the d embedding dimensions of |Σ_t W[t, dim]·e^{−2πi k t / p}|², for k = 0..p−1 (length p).
        /// For real embeddings P_k = P_{p−k}.
        /// </summary>
        public IReadOnlyList<double> Power { get; }

        /// <summary>The key frequencies (1 ≤ k ≤ ⌊p/2⌋), ascending.</summary>
        public IReadOnlyList<int> Frequencies { get; }

        /// <summary>All frequencies 1..⌊p/2⌋ by descending power (ties: lower k first).</summary>
        public IReadOnlyList<int> Ranked { get; }

        /// <summary>The gap that decided the key set: (power of the weakest key frequency) / (power of the strongest other one).</summary>
        public double GapRatio { get; }

        /// <summary>The key frequencies' share of the non-constant power Σ_{k=1..⌊p/2⌋} P_k, in [0, 1].</summary>
        public double PowerFraction { get; }

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "key frequencies {{{0}}} ({1:P1} of the power, gap ×{2:G3})",
            string.Join(", ", Frequencies), PowerFraction, GapRatio);
    }

    /// <summary>
    /// Key frequencies of a modular-arithmetic model from the discrete Fourier transform of its token embedding along the
    /// token axis (Nanda et al. 2023; docs/paper-notes.md §2.3.3).
    /// </summary>
    /// <remarks>
    /// Rule (fixed, so nobody picks frequencies by eye): compute P_k (see <see cref="KeyFrequencyResult.Power"/>) on the
    /// p number tokens (rows 0..p−1; the "=" row is not part of the cycle), sort P_1..P_⌊p/2⌋ in descending order
    /// s_1 ≥ s_2 ≥ …, and keep the m strongest frequencies where m maximises the ratio s_m / s_{m+1} over
    /// 1 ≤ m ≤ M (M = <c>maxCount</c>, default max(1, ⌊⌊p/2⌋ / 2⌋), at most ⌊p/2⌋ − 1); ties go to the smaller m.
    /// Angles are reduced exactly modulo p before cos/sin are evaluated.
    /// </remarks>
    public static class KeyFrequencies
    {
        /// <summary>The Fourier power of the embedding rows 0..p−1 and the key frequencies by the documented rule.</summary>
        /// <param name="embedding">Embedding matrix with at least p rows (row t = token t) and d ≥ 1 columns, finite.</param>
        /// <param name="p">The modulus (3 ≤ p ≤ embedding.Rows); rows p.. are ignored.</param>
        /// <param name="maxCount">The largest number of key frequencies M considered (default max(1, ⌊⌊p/2⌋/2⌋)).</param>
        /// <returns>The power spectrum and the key frequencies.</returns>
        /// <exception cref="ArgumentNullException">embedding is null.</exception>
        /// <exception cref="EntkArgumentException">p or maxCount out of range.</exception>
        /// <exception cref="NonFiniteValueException">A NaN or infinite entry in rows 0..p−1.</exception>
        public static KeyFrequencyResult FromEmbedding(Matrix embedding, int p, int? maxCount = null)
        {
            Check.NotNull(embedding, nameof(embedding));
            Check.InRange(p, 3, 46340, nameof(p));
            if (embedding.Rows < p) throw new ShapeMismatchException(nameof(embedding), Check.Inv($"[≥ {p}, d]"), Check.Shape(embedding.Rows, embedding.Columns));
            if (embedding.Columns < 1) throw new ShapeMismatchException(nameof(embedding), "[p, d ≥ 1]", Check.Shape(embedding.Rows, embedding.Columns));
            int d = embedding.Columns, half = p / 2;
            Check.AllFinite(embedding.Span.Slice(0, p * d), nameof(embedding), d);
            int limit = maxCount ?? Math.Max(1, half / 2);
            Check.InRange(limit, 1, Math.Max(1, half - 1), nameof(maxCount));

            var cos = new double[p];
            var sin = new double[p];
            for (int j = 0; j < p; j++)
            {
                double x = 2.0 * j / p;
                cos[j] = double.CosPi(x);
                sin[j] = double.SinPi(x);
            }
            var power = new double[p];
            var data = embedding.Span;
            for (int k = 0; k < p; k++)
            {
                double total = 0;
                for (int c = 0; c < d; c++)
                {
                    double re = 0, im = 0;
                    for (int t = 0; t < p; t++)
                    {
                        int j = (int)((long)k * t % p);
                        double w = data[t * d + c];
                        re += w * cos[j];
                        im -= w * sin[j];
                    }
                    total += re * re + im * im;
                }
                power[k] = total / d;
            }
            var ranked = Enumerable.Range(1, half).OrderByDescending(k => power[k]).ThenBy(k => k).ToArray();
            int best = 1;
            double bestRatio = double.NegativeInfinity;
            for (int m = 1; m <= Math.Min(limit, half - 1); m++)
            {
                double num = power[ranked[m - 1]], den = power[ranked[m]];
                double r = den > 0 ? num / den : (num > 0 ? double.PositiveInfinity : 1.0);
                if (r > bestRatio) { bestRatio = r; best = m; }
            }
            if (half == 1) bestRatio = double.PositiveInfinity;
            var key = ranked.Take(best).OrderBy(k => k).ToArray();
            double nonConstant = Enumerable.Range(1, half).Sum(k => power[k]);
            double fraction = nonConstant > 0 ? key.Sum(k => power[k]) / nonConstant : 0;
            return new KeyFrequencyResult(p, power, key, ranked, bestRatio, fraction);
        }
    }
}
