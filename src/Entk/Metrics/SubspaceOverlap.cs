using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Entk.Internal;
using Entk.Linalg;

namespace Entk.Metrics
{
    /// <summary>
    /// The overlap of two column spaces: Overlap = Σ s_i² = ‖Q_Aᵀ Q_B‖²_F, where s are the singular values
    /// of Q_Aᵀ Q_B (the cosines of the principal angles). Immutable.
    /// </summary>
    public sealed class SubspaceOverlapResult
    {
        internal SubspaceOverlapResult(double[] singularValues, int dimension, int familyDimension)
        {
            SingularValues = Array.AsReadOnly(singularValues);
            Overlap = singularValues.Sum(s => s * s);
            Dimension = dimension;
            FamilyDimension = familyDimension;
        }

        /// <summary>Σ s_i² ∈ [0, <see cref="MaxOverlap"/>].</summary>
        public double Overlap { get; }

        /// <summary>Singular values of Q_Aᵀ Q_B, descending, min(<see cref="Dimension"/>, <see cref="FamilyDimension"/>) of them, each in [0, 1].</summary>
        public IReadOnlyList<double> SingularValues { get; }

        /// <summary>Dimension d of the first space (the cliff: its number of columns).</summary>
        public int Dimension { get; }

        /// <summary>
        /// Dimension of the second space: for a Fourier family the numerical rank of its centred
        /// columns (2K for odd p; smaller when a centred column vanishes, e.g. the sine of k = p/2 for
        /// even p); for <see cref="SubspaceOverlap.Between"/> the number of columns of b.
        /// </summary>
        public int FamilyDimension { get; }

        /// <summary>min(Dimension, FamilyDimension): the largest possible overlap.</summary>
        public int MaxOverlap => Math.Min(Dimension, FamilyDimension);

        /// <summary>Overlap / MaxOverlap ∈ [0, 1] (0 when MaxOverlap = 0).</summary>
        public double Fraction => MaxOverlap == 0 ? 0 : Overlap / MaxOverlap;

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "overlap {0:F4} / {1}", Overlap, MaxOverlap);
    }

    /// <summary>The overlap of a cliff with the 2-dimensional span of one frequency's (centred) cos/sin pair. Immutable.</summary>
    public sealed class FrequencyOverlap
    {
        internal FrequencyOverlap(int frequency, string label, SubspaceOverlapResult result)
        {
            Frequency = frequency;
            Label = label;
            Result = result;
        }

        /// <summary>The frequency k.</summary>
        public int Frequency { get; }

        /// <summary>"family k=frequency".</summary>
        public string Label { get; }

        /// <summary>The score Σ s² ∈ [0, 2] (at most min(d, 2)).</summary>
        public double Score => Result.Overlap;

        /// <summary>The full overlap result (singular values, dimensions).</summary>
        public SubspaceOverlapResult Result { get; }

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0}: {1:F4}", Label, Score);
    }

    /// <summary>Per-frequency overlaps of a cliff with a family, ranked. Immutable.</summary>
    public sealed class FrequencyOverlapRanking
    {
        internal FrequencyOverlapRanking(FourierFamily family, FrequencyOverlap[] byFrequency)
        {
            Family = family;
            ByFrequency = Array.AsReadOnly(byFrequency);
            Ranked = Array.AsReadOnly(byFrequency.OrderByDescending(f => f.Score).ThenBy(f => f.Frequency).ToArray());
        }

        /// <summary>The family (its <see cref="FourierFamily.Name"/> labels the entries).</summary>
        public FourierFamily Family { get; }

        /// <summary>One entry per frequency, in the order of the frequencies requested.</summary>
        public IReadOnlyList<FrequencyOverlap> ByFrequency { get; }

        /// <summary>The same entries sorted by score, descending (ties: lower frequency first).</summary>
        public IReadOnlyList<FrequencyOverlap> Ranked { get; }

        /// <summary>The score of frequency k.</summary>
        /// <param name="frequency">A frequency present in <see cref="ByFrequency"/>.</param>
        /// <returns>Its score ∈ [0, 2].</returns>
        /// <exception cref="EntkArgumentException">Frequency not evaluated.</exception>
        public double ScoreOf(int frequency)
        {
            foreach (var f in ByFrequency) if (f.Frequency == frequency) return f.Score;
            throw new EntkArgumentException(nameof(frequency), "one of the evaluated frequencies " + string.Join(", ", ByFrequency.Select(f => f.Frequency.ToString(CultureInfo.InvariantCulture))), frequency.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>
    /// Subspace overlap between a cliff of eigenvectors and a Fourier family (docs/paper-notes.md §1.6 c), or
    /// between two arbitrary column spaces. Float64 throughout; QR and SVD on the backend <see cref="Linalg.LinearAlgebraControl"/> chooses.
    /// </summary>
    /// <remarks>
    /// Cliff: Q = reduced-QR orthonormal basis of its columns (which must be linearly independent).
    /// Family: the N × 2K matrix [cos_k, sin_k, …] over the selected frequencies, every column
    /// mean-centred ("drop the constant mode"), then orthonormalised. The reference orthonormalises by
    /// QR; Entk uses the left singular vectors with σ &gt; 1e-10·σ_max, which spans the same space when
    /// the centred columns are independent (always for odd p) and drops vanishing columns otherwise
    /// (see <see cref="SubspaceOverlapResult.FamilyDimension"/>). s = singular values of QᵀF,
    /// overlap = Σ s². The result is invariant to any rotation of the cliff columns and to their signs.
    /// </remarks>
    /// <example>
    /// C#: <c>var r = SubspaceOverlap.Compute(cliff, FourierFamilies.Create("sum", 29)); // r.Overlap ≈ 26.47 of 28</c>
    /// F#: <c>let r = SubspaceOverlap.Compute(cliff, FourierFamilies.Create("sum", 29), [| 1; 12 |])</c>
    /// </example>
    public static class SubspaceOverlap
    {
        /// <summary>Overlap of the cliff's column space with the (centred) span of a family.</summary>
        /// <param name="cliff">N × d cliff matrix (N = p², d ≥ 1, d ≤ N), finite, linearly independent columns.</param>
        /// <param name="family">The family.</param>
        /// <param name="frequencies">Frequencies to use (distinct, in [1, ⌊p/2⌋]); null = the family's own <see cref="FourierFamily.Frequencies"/>.</param>
        /// <returns>Overlap, singular values (descending), d and the family dimension (2K for odd p).</returns>
        /// <exception cref="ArgumentNullException">A null argument.</exception>
        /// <exception cref="ShapeMismatchException">cliff is empty, has Rows ≠ p², or more columns than rows.</exception>
        /// <exception cref="NonFiniteValueException">cliff contains NaN or ±Infinity.</exception>
        /// <exception cref="EntkArgumentException">Linearly dependent cliff columns, or bad frequencies.</exception>
        public static SubspaceOverlapResult Compute(Matrix cliff, FourierFamily family, IReadOnlyList<int>? frequencies = null)
        {
            Check.NotNull(family, nameof(family));
            var fam = frequencies is null ? family : family.WithFrequencies(FourierFamily.ValidateFrequencies(frequencies, family.Modulus, nameof(frequencies)));
            var q = CliffBasis(cliff, family);
            return WithFamilyColumns(q, fam.ToMatrix());
        }

        /// <summary>
        /// Per-frequency variant: for each frequency k, the overlap of the cliff with the 2-dimensional
        /// span of the centred, orthonormalised (cos_k, sin_k); score ∈ [0, 2]; frequencies ranked by score.
        /// </summary>
        /// <param name="cliff">N × d cliff matrix (N = p²), finite, linearly independent columns.</param>
        /// <param name="family">The family.</param>
        /// <param name="frequencies">Frequencies to score; null = the family's own frequencies.</param>
        /// <returns>The scores per frequency and ranked.</returns>
        /// <exception cref="ArgumentNullException">A null argument.</exception>
        /// <exception cref="ShapeMismatchException">cliff is empty, has Rows ≠ p², or more columns than rows.</exception>
        /// <exception cref="NonFiniteValueException">cliff contains NaN or ±Infinity.</exception>
        /// <exception cref="EntkArgumentException">Linearly dependent cliff columns, or bad frequencies.</exception>
        public static FrequencyOverlapRanking PerFrequency(Matrix cliff, FourierFamily family, IReadOnlyList<int>? frequencies = null)
        {
            Check.NotNull(family, nameof(family));
            var freqs = frequencies is null ? family.Frequencies.ToArray() : FourierFamily.ValidateFrequencies(frequencies, family.Modulus, nameof(frequencies));
            var q = CliffBasis(cliff, family);
            var items = freqs.Select(k => new FrequencyOverlap(k, family.Label(k), WithFamilyColumns(q, family.FrequencyPair(k)))).ToArray();
            return new FrequencyOverlapRanking(family, items);
        }

        /// <summary>
        /// Overlap of two arbitrary column spaces (no centring): both are orthonormalised by reduced QR,
        /// s = singular values of Q_aᵀ Q_b, overlap = Σ s² ∈ [0, min(d_a, d_b)].
        /// </summary>
        /// <param name="a">N × d_a matrix, finite, linearly independent columns (d_a ≤ N).</param>
        /// <param name="b">N × d_b matrix, same N, finite, linearly independent columns.</param>
        /// <returns>The overlap; Dimension = d_a, FamilyDimension = d_b.</returns>
        /// <exception cref="ArgumentNullException">A null argument.</exception>
        /// <exception cref="ShapeMismatchException">Empty, different row counts, or more columns than rows.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity.</exception>
        /// <exception cref="EntkArgumentException">Linearly dependent columns.</exception>
        public static SubspaceOverlapResult Between(Matrix a, Matrix b)
        {
            var bases = PrincipalAngles.Bases(a, b);
            var s = DenseLinalg.SingularValues(MetricsUtil.TransposeTimes(bases[0], bases[1]));
            return new SubspaceOverlapResult(Clamp01(s), a.Columns, b.Columns);
        }

        internal static Matrix CliffBasis(Matrix cliff, FourierFamily family)
        {
            MetricsUtil.NonEmptyFinite(cliff, nameof(cliff));
            MetricsUtil.Rows(cliff, family.InputCount, nameof(cliff), Check.Inv($"Rows must be p² = {family.InputCount} (family '{family.Name}', p = {family.Modulus})."));
            MetricsUtil.Tall(cliff, nameof(cliff));
            return DenseLinalg.OrthonormalColumns(cliff, nameof(cliff));
        }

        private static SubspaceOverlapResult WithFamilyColumns(Matrix q, Matrix familyColumns)
        {
            var f = DenseLinalg.RangeBasis(MetricsUtil.CenterColumns(familyColumns));
            if (f.Columns == 0) return new SubspaceOverlapResult(Array.Empty<double>(), q.Columns, 0);
            var s = DenseLinalg.SingularValues(MetricsUtil.TransposeTimes(q, f));
            return new SubspaceOverlapResult(Clamp01(s), q.Columns, f.Columns);
        }

        internal static double[] Clamp01(double[] s)
        {
            for (int i = 0; i < s.Length; i++) s[i] = Math.Clamp(s[i], 0.0, 1.0);
            return s;
        }
    }

    /// <summary>
    /// Principal angles between two column spaces, in radians, ascending (0 = a shared direction).
    /// </summary>
    /// <remarks>
    /// Both inputs are orthonormalised by reduced QR. With d_a ≥ d_b (the inputs are swapped
    /// otherwise; the angles are symmetric), the cosines are the singular values of Q_aᵀQ_b and the
    /// sines those of Q_b − Q_a(Q_aᵀQ_b). Following Knyazev and Argentati (2002), angles up to π/4 are
    /// taken from the sines and larger ones from the cosines, so small angles are accurate to ~1e-16
    /// (arccos alone loses half the digits near 0). min(d_a, d_b) angles are returned.
    /// </remarks>
    public static class PrincipalAngles
    {
        /// <summary>The min(d_a, d_b) principal angles between span(a) and span(b), ascending, in [0, π/2].</summary>
        /// <param name="a">N × d_a matrix, finite, linearly independent columns (d_a ≤ N).</param>
        /// <param name="b">N × d_b matrix, same N, finite, linearly independent columns.</param>
        /// <returns>Angles in radians, ascending.</returns>
        /// <exception cref="ArgumentNullException">A null argument.</exception>
        /// <exception cref="ShapeMismatchException">Empty, different row counts, or more columns than rows.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity.</exception>
        /// <exception cref="EntkArgumentException">Linearly dependent columns.</exception>
        public static double[] Compute(Matrix a, Matrix b)
        {
            var bases = Bases(a, b);
            var qa = bases[0];
            var qb = bases[1];
            if (qa.Columns < qb.Columns) (qa, qb) = (qb, qa);
            var proj = MetricsUtil.TransposeTimes(qa, qb);            // d_a × d_b
            var cos = SubspaceOverlap.Clamp01(DenseLinalg.SingularValues(proj)); // descending
            var qaProj = qa.Multiply(proj);
            var resid = new double[(long)qb.Rows * qb.Columns];
            var sb = qb.Span;
            var sp = qaProj.Span;
            for (int i = 0; i < resid.Length; i++) resid[i] = sb[i] - sp[i];
            var sin = SubspaceOverlap.Clamp01(DenseLinalg.SingularValues(Matrix.Wrap(qb.Rows, qb.Columns, resid)));
            Array.Reverse(sin);                                         // ascending
            int count = qb.Columns;
            var angles = new double[count];
            for (int i = 0; i < count; i++)
            {
                double c = cos[i];
                angles[i] = c * c >= 0.5 ? Math.Asin(sin[i]) : Math.Acos(c);
            }
            Array.Sort(angles);
            return angles;
        }

        internal static Matrix[] Bases(Matrix a, Matrix b)
        {
            MetricsUtil.NonEmptyFinite(a, nameof(a));
            MetricsUtil.NonEmptyFinite(b, nameof(b));
            MetricsUtil.Rows(b, a.Rows, nameof(b), "Both matrices must have the same number of rows (the ambient dimension N).");
            MetricsUtil.Tall(a, nameof(a));
            MetricsUtil.Tall(b, nameof(b));
            return new[] { DenseLinalg.OrthonormalColumns(a, nameof(a)), DenseLinalg.OrthonormalColumns(b, nameof(b)) };
        }
    }
}
