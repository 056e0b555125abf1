using System;
using Entk;
using NUnit.Framework;

namespace Entk.Tests
{
    internal static class TestUtil
    {
        public static Matrix RandomMatrix(int rows, int cols, int seed, double scale = 1.0)
        {
            var rng = new Random(seed);
            var d = new double[rows * cols];
            for (int i = 0; i < d.Length; i++) d[i] = scale * (2 * rng.NextDouble() - 1);
            return Matrix.FromArray(rows, cols, d);
        }

        public static Matrix RandomSymmetric(int n, int seed)
        {
            var a = RandomMatrix(n, n, seed);
            var d = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    d[i * n + j] = a[i, j] + a[j, i];
            return Matrix.FromArray(n, n, d);
        }

        /// <summary>Asserts max|a − b| ≤ tol · max(1, max|b|).</summary>
        public static void AssertClose(Matrix actual, Matrix expected, double tol, string what = "")
        {
            Assert.That(actual.Rows, Is.EqualTo(expected.Rows), what + " rows");
            Assert.That(actual.Columns, Is.EqualTo(expected.Columns), what + " columns");
            double scale = Math.Max(1.0, expected.MaxAbs());
            double diff = actual.MaxAbsDifference(expected);
            Assert.That(diff, Is.LessThanOrEqualTo(tol * scale), $"{what}: max abs diff {diff:E3} (scale {scale:E3})");
        }

        public static void AssertClose(double[] actual, double[] expected, double tol, string what = "")
        {
            Assert.That(actual.Length, Is.EqualTo(expected.Length), what + " length");
            double scale = 1.0;
            foreach (var v in expected) scale = Math.Max(scale, Math.Abs(v));
            double diff = 0;
            for (int i = 0; i < actual.Length; i++) diff = Math.Max(diff, Math.Abs(actual[i] - expected[i]));
            Assert.That(diff, Is.LessThanOrEqualTo(tol * scale), $"{what}: max abs diff {diff:E3}");
        }

        public static Matrix Add(Matrix a, Matrix b)
        {
            var d = a.ToArray();
            var e = b.Span;
            for (int i = 0; i < d.Length; i++) d[i] += e[i];
            return Matrix.FromArray(a.Rows, a.Columns, d);
        }

        public static Matrix Scale(Matrix a, double s)
        {
            var d = a.ToArray();
            for (int i = 0; i < d.Length; i++) d[i] *= s;
            return Matrix.FromArray(a.Rows, a.Columns, d);
        }

        public static double Dot(double[] a, double[] b)
        {
            double s = 0;
            for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
            return s;
        }
    }
}
