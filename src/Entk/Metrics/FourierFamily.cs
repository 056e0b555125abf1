using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Entk.Internal;

namespace Entk.Metrics
{
    /// <summary>
    /// A Fourier feature family on the inputs of modular addition (docs/paper-notes.md §1.5): the N = p² inputs
    /// are all pairs (n, m) ∈ Z_p², row i = n·p + m (n = left operand, slow index; m = right operand,
    /// fast index). For each frequency k the family holds two N-vectors, cos_k and sin_k.
    /// </summary>
    /// <remarks>
    /// A family is a signed sum of terms trig(2π k (a·n + b·m) / p) with integer (a, b): "n" = (1, 0),
    /// "m" = (0, 1), "sum" = (1, 1), "diff" = (1, −1), "2n" = (2, 0), "2m" = (0, 2), "axis_sum" =
    /// (1, 0) + (0, 1), "axis_diff" = (1, 0) − (0, 1). Angles are reduced exactly modulo p in integer
    /// arithmetic and evaluated with <see cref="double.CosPi"/> / <see cref="double.SinPi"/>, so values
    /// that are exactly 0 or ±1 (e.g. the sine of frequency p/2 for even p) come out exact.
    /// Columns are computed on demand (nothing of size N is stored); <see cref="ToMatrix"/> allocates
    /// N · 2K doubles. Immutable.
    /// </remarks>
    /// <example>
    /// C#: <c>var sum = FourierFamilies.Create("sum", 29); var f = sum.ToMatrix(); // 841 × 28</c>
    /// F#: <c>let keyFreqs = (FourierFamilies.Create("sum", 29)).WithFrequencies([| 1; 12 |])</c>
    /// </example>
    public sealed class FourierFamily
    {
        private readonly int[] _frequencies;
        private readonly FamilyTerm[] _terms;

        internal FourierFamily(string name, FourierFamilyKind kind, int modulus, FamilyTerm[] terms, int[] frequencies)
        {
            Name = name;
            Kind = kind;
            Modulus = modulus;
            _terms = terms;
            _frequencies = frequencies;
            Frequencies = Array.AsReadOnly(frequencies);
        }

        /// <summary>The family name as given to <see cref="FourierFamilies.Create(string, int)"/> (e.g. "sum"); used in row labels.</summary>
        public string Name { get; }

        /// <summary>Which standard family this is.</summary>
        public FourierFamilyKind Kind { get; }

        /// <summary>The modulus p (≥ 3).</summary>
        public int Modulus { get; }

        /// <summary>Number of inputs N = p².</summary>
        public int InputCount => Modulus * Modulus;

        /// <summary>Largest admissible frequency ⌊p/2⌋.</summary>
        public int MaxFrequency => Modulus / 2;

        /// <summary>
        /// The frequencies k held by this family, 1-based, in column order. A family from
        /// <see cref="FourierFamilies.Create(string, int)"/> holds 1..⌊p/2⌋; <see cref="WithFrequencies"/> selects a subset.
        /// </summary>
        public IReadOnlyList<int> Frequencies { get; }

        /// <summary>Number of frequencies K held (= ⌊p/2⌋ unless restricted).</summary>
        public int FrequencyCount => _frequencies.Length;

        /// <summary>Number of columns of <see cref="ToMatrix"/>: 2K.</summary>
        public int ColumnCount => 2 * _frequencies.Length;

        /// <summary>One row label per held frequency, "name k=frequency" (e.g. "sum k=3"), in column-pair order.</summary>
        public IReadOnlyList<string> Labels => Array.AsReadOnly(_frequencies.Select(Label).ToArray());

        /// <summary>The label "name k=frequency" of one frequency.</summary>
        /// <param name="frequency">A frequency k (any integer; no range check).</param>
        /// <returns>For example "diff k=12".</returns>
        public string Label(int frequency) => string.Format(CultureInfo.InvariantCulture, "{0} k={1}", Name, frequency);

        /// <summary>
        /// The family as an N × 2K matrix with columns ordered [cos_{k1}, sin_{k1}, cos_{k2}, sin_{k2}, …]
        /// over <see cref="Frequencies"/> (not normalised, not centred; row i = n·p + m).
        /// </summary>
        /// <returns>New N × 2K matrix.</returns>
        public Matrix ToMatrix()
        {
            int n = InputCount, c = ColumnCount;
            var d = new double[(long)n * c];
            for (int f = 0; f < _frequencies.Length; f++)
            {
                Fill(_frequencies[f], sine: false, d, c, 2 * f);
                Fill(_frequencies[f], sine: true, d, c, 2 * f + 1);
            }
            return Matrix.Wrap(n, c, d);
        }

        /// <summary>The cosine vector cos_k over the N inputs (row i = n·p + m).</summary>
        /// <param name="frequency">Frequency k in [1, ⌊p/2⌋] (need not be among <see cref="Frequencies"/>).</param>
        /// <returns>New array of length N.</returns>
        /// <exception cref="EntkArgumentException">Frequency out of range.</exception>
        public double[] Cosine(int frequency)
        {
            Check.InRange(frequency, 1, MaxFrequency, nameof(frequency));
            var d = new double[InputCount];
            Fill(frequency, sine: false, d, 1, 0);
            return d;
        }

        /// <summary>The sine vector sin_k over the N inputs (row i = n·p + m).</summary>
        /// <param name="frequency">Frequency k in [1, ⌊p/2⌋].</param>
        /// <returns>New array of length N.</returns>
        /// <exception cref="EntkArgumentException">Frequency out of range.</exception>
        public double[] Sine(int frequency)
        {
            Check.InRange(frequency, 1, MaxFrequency, nameof(frequency));
            var d = new double[InputCount];
            Fill(frequency, sine: true, d, 1, 0);
            return d;
        }

        /// <summary>The N × 2 matrix [cos_k, sin_k] of one frequency.</summary>
        /// <param name="frequency">Frequency k in [1, ⌊p/2⌋].</param>
        /// <returns>New N × 2 matrix.</returns>
        /// <exception cref="EntkArgumentException">Frequency out of range.</exception>
        public Matrix FrequencyPair(int frequency)
        {
            Check.InRange(frequency, 1, MaxFrequency, nameof(frequency));
            var d = new double[2L * InputCount];
            Fill(frequency, sine: false, d, 2, 0);
            Fill(frequency, sine: true, d, 2, 1);
            return Matrix.Wrap(InputCount, 2, d);
        }

        /// <summary>The same family restricted to (or reordered as) the given frequencies.</summary>
        /// <param name="frequencies">Distinct frequencies in [1, ⌊p/2⌋], at least one; their order becomes the column order.</param>
        /// <returns>A new family with the same name and modulus.</returns>
        /// <exception cref="EntkArgumentException">Empty list, duplicate or out-of-range frequency.</exception>
        public FourierFamily WithFrequencies(IReadOnlyList<int> frequencies) =>
            new(Name, Kind, Modulus, _terms, ValidateFrequencies(frequencies, Modulus, nameof(frequencies)));

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "FourierFamily {0} (p = {1}, K = {2})", Name, Modulus, FrequencyCount);

        internal static int[] ValidateFrequencies(IReadOnlyList<int>? frequencies, int p, string name)
        {
            Check.NotNull(frequencies, name);
            if (frequencies!.Count == 0) throw new EntkArgumentException(name, "at least one frequency", "an empty list");
            var seen = new HashSet<int>();
            var result = new int[frequencies.Count];
            for (int i = 0; i < frequencies.Count; i++)
            {
                int k = frequencies[i];
                if (k < 1 || k > p / 2)
                    throw new EntkArgumentException(name, Check.Inv($"frequencies in [1, {p / 2}] (p = {p})"), Check.Inv($"{k} at position {i}"));
                if (!seen.Add(k))
                    throw new EntkArgumentException(name, "distinct frequencies", Check.Inv($"{k} repeated at position {i}"));
                result[i] = k;
            }
            return result;
        }

        private void Fill(int k, bool sine, double[] dest, int stride, int offset)
        {
            int p = Modulus;
            var table = new double[p];
            for (int j = 0; j < p; j++)
            {
                double x = 2.0 * j / p;
                table[j] = sine ? double.SinPi(x) : double.CosPi(x);
            }
            for (int n = 0; n < p; n++)
                for (int m = 0; m < p; m++)
                {
                    double v = 0;
                    foreach (var t in _terms)
                    {
                        long arg = ((long)t.A * n + (long)t.B * m) * k;
                        int j = (int)(((arg % p) + p) % p);
                        v += t.Sign * table[j];
                    }
                    dest[(long)(n * p + m) * stride + offset] = v;
                }
        }
    }

    /// <summary>One term sign·trig(2πk(a·n + b·m)/p) of a family (internal).</summary>
    internal readonly struct FamilyTerm
    {
        public FamilyTerm(int a, int b, int sign)
        {
            A = a;
            B = b;
            Sign = sign;
        }

        public int A { get; }

        public int B { get; }

        public int Sign { get; }
    }

    /// <summary>The standard Fourier families of modular addition (see <see cref="FourierFamily"/>; names as in <see cref="FourierFamilies.Names"/>).</summary>
    public enum FourierFamilyKind
    {
        /// <summary>"n": v = n (left operand).</summary>
        N,
        /// <summary>"m": v = m (right operand).</summary>
        M,
        /// <summary>"sum": v = n + m.</summary>
        Sum,
        /// <summary>"diff": v = n − m.</summary>
        Diff,
        /// <summary>"2n": v = 2n.</summary>
        TwoN,
        /// <summary>"2m": v = 2m.</summary>
        TwoM,
        /// <summary>"axis_sum": n-modes + m-modes elementwise.</summary>
        AxisSum,
        /// <summary>"axis_diff": n-modes − m-modes elementwise.</summary>
        AxisDiff,
    }

    /// <summary>Factory of the standard modular-addition Fourier families (docs/paper-notes.md §1.5).</summary>
    public static class FourierFamilies
    {
        private static readonly string[] _names = { "n", "m", "sum", "diff", "2n", "2m", "axis_sum", "axis_diff" };

        /// <summary>
        /// The valid family names, in the order of <see cref="Standard"/> and of <see cref="FourierFamilyKind"/>: "n" (v = n, left operand),
        /// "m" (v = m, right operand), "sum" (v = n + m), "diff" (v = n − m), "2n", "2m", "axis_sum"
        /// (n-modes + m-modes elementwise), "axis_diff" (n-modes − m-modes). The paper's aliases "a"
        /// (= "n") and "b" (= "m") are also accepted by <see cref="Create(string, int)"/>.
        /// </summary>
        public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(_names);

        /// <summary>Creates a standard family with all frequencies k = 1..⌊p/2⌋; its name is the kind's name in <see cref="Names"/>.</summary>
        /// <param name="kind">The family.</param>
        /// <param name="p">The modulus, 3 ≤ p ≤ 46340 (so that p² fits an int).</param>
        /// <returns>The family.</returns>
        /// <exception cref="EntkArgumentException">An undefined kind or p out of range.</exception>
        public static FourierFamily Create(FourierFamilyKind kind, int p)
        {
            if (!Enum.IsDefined(kind)) throw new EntkArgumentException(nameof(kind), "a defined FourierFamilyKind", kind.ToString());
            return Create(_names[(int)kind], p);
        }

        /// <summary>
        /// Creates a family by name, with all frequencies k = 1..⌊p/2⌋ (for names read from files or a command line; in code
        /// <see cref="Create(FourierFamilyKind, int)"/> lets the compiler check the choice).
        /// </summary>
        /// <param name="name">One of <see cref="Names"/>, or the aliases "a" / "b" (case-sensitive).</param>
        /// <param name="p">The modulus, 3 ≤ p ≤ 46340 (so that p² fits an int).</param>
        /// <returns>The family; its <see cref="FourierFamily.Name"/> is <paramref name="name"/> as given.</returns>
        /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
        /// <exception cref="EntkArgumentException">Unknown name (the message lists the valid names) or p out of range.</exception>
        public static FourierFamily Create(string name, int p)
        {
            Check.NotNull(name, nameof(name));
            Check.InRange(p, 3, 46340, nameof(p));
            (FourierFamilyKind kind, FamilyTerm[] terms) = name switch
            {
                "n" or "a" => (FourierFamilyKind.N, new[] { new FamilyTerm(1, 0, 1) }),
                "m" or "b" => (FourierFamilyKind.M, new[] { new FamilyTerm(0, 1, 1) }),
                "sum" => (FourierFamilyKind.Sum, new[] { new FamilyTerm(1, 1, 1) }),
                "diff" => (FourierFamilyKind.Diff, new[] { new FamilyTerm(1, -1, 1) }),
                "2n" => (FourierFamilyKind.TwoN, new[] { new FamilyTerm(2, 0, 1) }),
                "2m" => (FourierFamilyKind.TwoM, new[] { new FamilyTerm(0, 2, 1) }),
                "axis_sum" => (FourierFamilyKind.AxisSum, new[] { new FamilyTerm(1, 0, 1), new FamilyTerm(0, 1, 1) }),
                "axis_diff" => (FourierFamilyKind.AxisDiff, new[] { new FamilyTerm(1, 0, 1), new FamilyTerm(0, 1, -1) }),
                _ => throw new EntkArgumentException(nameof(name),
                    "one of " + string.Join(", ", _names.Select(s => "\"" + s + "\"")) + " (or the aliases \"a\", \"b\")",
                    "\"" + name + "\""),
            };
            return new FourierFamily(name, kind, p, terms, Enumerable.Range(1, p / 2).ToArray());
        }

        /// <summary>All eight standard families for modulus p, in the order of <see cref="Names"/>.</summary>
        /// <param name="p">The modulus, 3 ≤ p ≤ 46340.</param>
        /// <returns>The families "n", "m", "sum", "diff", "2n", "2m", "axis_sum", "axis_diff".</returns>
        /// <exception cref="EntkArgumentException">p out of range.</exception>
        public static IReadOnlyList<FourierFamily> Standard(int p)
        {
            Check.InRange(p, 3, 46340, nameof(p));
            return Array.AsReadOnly(_names.Select(n => Create(n, p)).ToArray());
        }
    }
}
