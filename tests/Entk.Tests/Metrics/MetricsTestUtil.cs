using System;
using System.Collections.Generic;
using Entk;

namespace Entk.Tests.Metrics
{
    /// <summary>Independent (managed, formula-level) helpers for the metrics tests.</summary>
    internal static class MetricsTestUtil
    {
        /// <summary>trig(2π k v(n, m) / p) over the N = p² inputs, row i = n·p + m, from Math.Cos/Math.Sin directly.</summary>
        public static double[] Mode(int p, int k, Func<int, int, int> value, bool sine)
        {
            var d = new double[p * p];
            for (int n = 0; n < p; n++)
                for (int m = 0; m < p; m++)
                {
                    double ang = 2 * Math.PI * k * value(n, m) / p;
                    d[n * p + m] = sine ? Math.Sin(ang) : Math.Cos(ang);
                }
            return d;
        }

        public static Func<int, int, int> ValueOf(string family) => family switch
        {
            "n" => (n, m) => n,
            "m" => (n, m) => m,
            "sum" => (n, m) => n + m,
            "diff" => (n, m) => n - m,
            "2n" => (n, m) => 2 * n,
            "2m" => (n, m) => 2 * m,
            _ => throw new ArgumentException(family),
        };

        /// <summary>Columns → matrix.</summary>
        public static Matrix FromColumns(IReadOnlyList<double[]> columns)
        {
            int r = columns[0].Length, c = columns.Count;
            var d = new double[r * c];
            for (int j = 0; j < c; j++)
                for (int i = 0; i < r; i++)
                    d[i * c + j] = columns[j][i];
            return Matrix.FromArray(r, c, d);
        }

        /// <summary>A seeded random orthogonal n × n matrix (modified Gram–Schmidt, twice, on uniform entries).</summary>
        public static Matrix RandomOrthogonal(int n, int seed)
        {
            var rng = new Random(seed);
            var cols = new double[n][];
            for (int j = 0; j < n; j++)
            {
                var v = new double[n];
                for (int i = 0; i < n; i++) v[i] = 2 * rng.NextDouble() - 1;
                for (int pass = 0; pass < 2; pass++)
                    for (int q = 0; q < j; q++)
                    {
                        double dot = TestUtil.Dot(v, cols[q]);
                        for (int i = 0; i < n; i++) v[i] -= dot * cols[q][i];
                    }
                double norm = Math.Sqrt(TestUtil.Dot(v, v));
                for (int i = 0; i < n; i++) v[i] /= norm;
                cols[j] = v;
            }
            return FromColumns(cols);
        }

        /// <summary>Unit-norm copy.</summary>
        public static double[] Unit(double[] v)
        {
            double norm = Math.Sqrt(TestUtil.Dot(v, v));
            var r = new double[v.Length];
            for (int i = 0; i < v.Length; i++) r[i] = v[i] / norm;
            return r;
        }

        /// <summary>Managed matrix product (independent of libtorch).</summary>
        public static Matrix Mul(Matrix a, Matrix b)
        {
            var d = new double[a.Rows * b.Columns];
            for (int i = 0; i < a.Rows; i++)
                for (int l = 0; l < a.Columns; l++)
                {
                    double x = a[i, l];
                    if (x == 0) continue;
                    for (int j = 0; j < b.Columns; j++) d[i * b.Columns + j] += x * b[l, j];
                }
            return Matrix.FromArray(a.Rows, b.Columns, d);
        }

        /// <summary>Copy with every column j multiplied by signs[j].</summary>
        public static Matrix FlipColumns(Matrix a, int seed)
        {
            var rng = new Random(seed);
            var s = new double[a.Columns];
            for (int j = 0; j < s.Length; j++) s[j] = rng.Next(2) == 0 ? -1 : 1;
            var d = a.ToArray();
            for (int i = 0; i < a.Rows; i++)
                for (int j = 0; j < a.Columns; j++)
                    d[i * a.Columns + j] *= s[j];
            return Matrix.FromArray(a.Rows, a.Columns, d);
        }

        /// <summary>All N = p² centred, normalised cos/sin modes of the given families (pair order: family, k, cos then sin).</summary>
        public static Matrix ModeCliff(int p, params string[] families)
        {
            var cols = new List<double[]>();
            foreach (var f in families)
                for (int k = 1; k <= p / 2; k++)
                {
                    cols.Add(Unit(Mode(p, k, ValueOf(f), false)));
                    cols.Add(Unit(Mode(p, k, ValueOf(f), true)));
                }
            return FromColumns(cols);
        }
    }
}
