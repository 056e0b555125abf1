using System;
using Entk.Internal;

namespace Entk.Metrics
{
    /// <summary>Managed validation and small dense helpers shared by the metrics (internal).</summary>
    internal static class MetricsUtil
    {
        /// <summary>Not null, at least one row and one column, all finite.</summary>
        public static Matrix NonEmptyFinite(Matrix? m, string name)
        {
            Check.NotNull(m, name);
            if (m!.Rows == 0 || m.Columns == 0)
                throw new ShapeMismatchException(name, "[r, c] with r ≥ 1 and c ≥ 1 (non-empty)", Check.Shape(m.Rows, m.Columns));
            Check.AllFinite(m.Span, name, m.Columns);
            return m;
        }

        /// <summary>Requires exactly <paramref name="rows"/> rows.</summary>
        public static void Rows(Matrix m, int rows, string name, string why)
        {
            if (m.Rows != rows)
                throw new ShapeMismatchException(name, Check.Inv($"[{rows}, *]"), Check.Shape(m.Rows, m.Columns), why);
        }

        /// <summary>Requires at most as many columns as rows (so that the columns can be linearly independent).</summary>
        public static void Tall(Matrix m, string name)
        {
            if (m.Columns > m.Rows)
                throw new ShapeMismatchException(name, Check.Inv($"[{m.Rows}, d] with d ≤ {m.Rows} (no more columns than rows)"), Check.Shape(m.Rows, m.Columns),
                    "More columns than rows cannot be linearly independent.");
        }

        /// <summary>Every column divided by (its L2 norm + eps).</summary>
        public static Matrix NormalizeColumns(Matrix m, double eps)
        {
            int r = m.Rows, c = m.Columns;
            var src = m.Span;
            var norms = new double[c];
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++)
                {
                    double v = src[i * c + j];
                    norms[j] += v * v;
                }
            for (int j = 0; j < c; j++) norms[j] = Math.Sqrt(norms[j]) + eps;
            var d = new double[(long)r * c];
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++)
                    d[i * c + j] = src[i * c + j] / norms[j];
            return Matrix.Wrap(r, c, d);
        }

        /// <summary>Every column minus its mean.</summary>
        public static Matrix CenterColumns(Matrix m)
        {
            int r = m.Rows, c = m.Columns;
            var src = m.Span;
            var mean = new double[c];
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++)
                    mean[j] += src[i * c + j];
            for (int j = 0; j < c; j++) mean[j] /= r;
            var d = new double[(long)r * c];
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++)
                    d[i * c + j] = src[i * c + j] - mean[j];
            return Matrix.Wrap(r, c, d);
        }

        /// <summary>[a | b] (same number of rows).</summary>
        public static Matrix ConcatColumns(Matrix a, Matrix b)
        {
            if (a.Rows != b.Rows) throw new InvalidOperationException("internal: ConcatColumns rows");
            int r = a.Rows, ca = a.Columns, cb = b.Columns, c = ca + cb;
            var d = new double[(long)r * c];
            var sa = a.Span;
            var sb = b.Span;
            for (int i = 0; i < r; i++)
            {
                sa.Slice(i * ca, ca).CopyTo(d.AsSpan(i * c, ca));
                sb.Slice(i * cb, cb).CopyTo(d.AsSpan(i * c + ca, cb));
            }
            return Matrix.Wrap(r, c, d);
        }

        /// <summary>aᵀ·b (float64, managed GEMM).</summary>
        public static Matrix TransposeTimes(Matrix a, Matrix b) => a.Transpose().Multiply(b);
    }
}
