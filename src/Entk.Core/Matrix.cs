using System;
using System.Collections.Generic;
using System.Globalization;
using Entk.Internal;

namespace Entk
{
    /// <summary>
    /// An immutable dense matrix of float64 values stored in row-major order (element (i, j) at
    /// offset i·Columns + j). Entk uses it for inputs (one sample per row), kernels, Jacobians and
    /// eigenvectors (one eigenvector per column). Construction copies the caller's data, so later
    /// changes to the source array do not affect the matrix.
    /// </summary>
    /// <example>
    /// C#: <c>var x = Matrix.FromRows(new[] { new[] { 1.0, 2.0 }, new[] { 3.0, 4.0 } });</c>
    /// F#: <c>let x = Matrix.FromArray2D(array2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ])</c>
    /// </example>
    public sealed class Matrix
    {
        private readonly double[] _data;

        private Matrix(int rows, int columns, double[] data)
        {
            Rows = rows;
            Columns = columns;
            _data = data;
        }

        /// <summary>Number of rows.</summary>
        public int Rows { get; }

        /// <summary>Number of columns.</summary>
        public int Columns { get; }

        /// <summary>The shape as [Rows, Columns].</summary>
        public IReadOnlyList<int> Shape => new[] { Rows, Columns };

        /// <summary>Element (row, column).</summary>
        /// <param name="row">Row index, 0-based.</param>
        /// <param name="column">Column index, 0-based.</param>
        public double this[int row, int column]
        {
            get
            {
                if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), row, Check.Inv($"row must be in [0, {Rows})"));
                if ((uint)column >= (uint)Columns) throw new ArgumentOutOfRangeException(nameof(column), column, Check.Inv($"column must be in [0, {Columns})"));
                return _data[(long)row * Columns + column];
            }
        }

        /// <summary>A read-only view of the row-major data (length Rows·Columns).</summary>
        public ReadOnlySpan<double> Span => _data;

        /// <summary>Creates a matrix from row-major data (copied).</summary>
        /// <param name="rows">Number of rows (≥ 0).</param>
        /// <param name="columns">Number of columns (≥ 0).</param>
        /// <param name="rowMajor">Row-major values, length rows·columns.</param>
        /// <returns>The matrix.</returns>
        /// <exception cref="ShapeMismatchException">The data length is not rows·columns.</exception>
        public static Matrix FromRowMajor(int rows, int columns, ReadOnlySpan<double> rowMajor)
        {
            Check.NonNegative(rows, nameof(rows));
            Check.NonNegative(columns, nameof(columns));
            if ((long)rows * columns != rowMajor.Length)
                throw new ShapeMismatchException(nameof(rowMajor), Check.Inv($"[{(long)rows * columns}] (= {rows}·{columns})"), Check.Inv($"[{rowMajor.Length}]"));
            return new Matrix(rows, columns, rowMajor.ToArray());
        }

        /// <summary>Creates a matrix from a row-major array (copied). Same as <see cref="FromRowMajor"/> for callers holding a <c>double[]</c>.</summary>
        /// <param name="rows">Number of rows.</param>
        /// <param name="columns">Number of columns.</param>
        /// <param name="rowMajor">Row-major values, length rows·columns.</param>
        /// <returns>The matrix.</returns>
        public static Matrix FromArray(int rows, int columns, double[] rowMajor) =>
            FromRowMajor(rows, columns, Check.NotNull(rowMajor, nameof(rowMajor)));

        /// <summary>Creates a matrix from a two-dimensional array (copied).</summary>
        /// <param name="values">Values indexed [row, column].</param>
        /// <returns>The matrix.</returns>
        public static Matrix FromArray2D(double[,] values)
        {
            Check.NotNull(values, nameof(values));
            int r = values.GetLength(0), c = values.GetLength(1);
            var d = new double[(long)r * c];
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++)
                    d[(long)i * c + j] = values[i, j];
            return new Matrix(r, c, d);
        }

        /// <summary>Creates a matrix from jagged rows (copied); every row must have the same length.</summary>
        /// <param name="rows">The rows.</param>
        /// <returns>The matrix.</returns>
        /// <exception cref="ShapeMismatchException">Rows of different lengths.</exception>
        public static Matrix FromRows(IReadOnlyList<double[]> rows)
        {
            Check.NotNull(rows, nameof(rows));
            int r = rows.Count;
            int c = r == 0 ? 0 : rows[0].Length;
            var d = new double[(long)r * c];
            for (int i = 0; i < r; i++)
            {
                if (rows[i].Length != c)
                    throw new ShapeMismatchException(nameof(rows), Check.Inv($"every row of length {c}"), Check.Inv($"row {i} of length {rows[i].Length}"));
                Array.Copy(rows[i], 0, d, (long)i * c, c);
            }
            return new Matrix(r, c, d);
        }

        /// <summary>The n×n identity matrix.</summary>
        /// <param name="n">Order.</param>
        /// <returns>The identity.</returns>
        public static Matrix Identity(int n)
        {
            Check.NonNegative(n, nameof(n));
            var d = new double[(long)n * n];
            for (int i = 0; i < n; i++) d[(long)i * n + i] = 1;
            return new Matrix(n, n, d);
        }

        /// <summary>A matrix of zeros.</summary>
        /// <param name="rows">Rows.</param>
        /// <param name="columns">Columns.</param>
        /// <returns>The zero matrix.</returns>
        public static Matrix Zeros(int rows, int columns)
        {
            Check.NonNegative(rows, nameof(rows));
            Check.NonNegative(columns, nameof(columns));
            return new Matrix(rows, columns, new double[(long)rows * columns]);
        }

        /// <summary>Wraps an array without copying; the caller gives up ownership.</summary>
        internal static Matrix Wrap(int rows, int columns, double[] rowMajor)
        {
            if ((long)rows * columns != rowMajor.Length) throw new InvalidOperationException("internal: bad wrap length");
            return new Matrix(rows, columns, rowMajor);
        }

        /// <summary>Internal direct access (never exposed: the matrix is immutable).</summary>
        internal double[] RawData => _data;

        /// <summary>A copy of the row-major data.</summary>
        /// <returns>New array of length Rows·Columns.</returns>
        public double[] ToArray() => (double[])_data.Clone();

        /// <summary>A copy as a two-dimensional array indexed [row, column].</summary>
        /// <returns>New array.</returns>
        public double[,] ToArray2D()
        {
            var a = new double[Rows, Columns];
            for (int i = 0; i < Rows; i++)
                for (int j = 0; j < Columns; j++)
                    a[i, j] = _data[(long)i * Columns + j];
            return a;
        }

        /// <summary>A copy of one row.</summary>
        /// <param name="row">Row index.</param>
        /// <returns>New array of length Columns.</returns>
        public double[] Row(int row)
        {
            Check.InRange(row, 0, Rows - 1, nameof(row));
            return _data.AsSpan((int)((long)row * Columns), Columns).ToArray();
        }

        /// <summary>A copy of one column.</summary>
        /// <param name="column">Column index.</param>
        /// <returns>New array of length Rows.</returns>
        public double[] Column(int column)
        {
            Check.InRange(column, 0, Columns - 1, nameof(column));
            var c = new double[Rows];
            for (int i = 0; i < Rows; i++) c[i] = _data[(long)i * Columns + column];
            return c;
        }

        /// <summary>The sub-matrix of columns [start, start + count).</summary>
        /// <param name="start">First column.</param>
        /// <param name="count">Number of columns.</param>
        /// <returns>New matrix Rows × count.</returns>
        public Matrix SliceColumns(int start, int count)
        {
            Check.InRange(start, 0, Columns, nameof(start));
            Check.InRange(count, 0, Columns - start, nameof(count));
            var d = new double[(long)Rows * count];
            for (int i = 0; i < Rows; i++)
                Array.Copy(_data, (long)i * Columns + start, d, (long)i * count, count);
            return new Matrix(Rows, count, d);
        }

        /// <summary>The sub-matrix of rows [start, start + count).</summary>
        /// <param name="start">First row.</param>
        /// <param name="count">Number of rows.</param>
        /// <returns>New matrix count × Columns.</returns>
        public Matrix SliceRows(int start, int count)
        {
            Check.InRange(start, 0, Rows, nameof(start));
            Check.InRange(count, 0, Rows - start, nameof(count));
            return new Matrix(count, Columns, _data.AsSpan((int)((long)start * Columns), (int)((long)count * Columns)).ToArray());
        }

        /// <summary>The transpose.</summary>
        /// <returns>New matrix Columns × Rows.</returns>
        public Matrix Transpose()
        {
            var d = new double[_data.Length];
            for (int i = 0; i < Rows; i++)
                for (int j = 0; j < Columns; j++)
                    d[(long)j * Rows + i] = _data[(long)i * Columns + j];
            return new Matrix(Columns, Rows, d);
        }

        /// <summary>
        /// Matrix product this · other in float64, computed in managed code (a cache-blocked, vectorised loop; no native
        /// library). Meant for the small and medium products of analysis code; the engine's large products run on
        /// libtorch/oneMKL.
        /// </summary>
        /// <param name="other">Right factor with Rows = this.Columns.</param>
        /// <returns>New matrix this.Rows × other.Columns.</returns>
        /// <exception cref="ShapeMismatchException">Inner dimensions differ.</exception>
        public Matrix Multiply(Matrix other)
        {
            Check.NotNull(other, nameof(other));
            if (other.Rows != Columns)
                throw new ShapeMismatchException(nameof(other), Check.Inv($"[{Columns}, *]"), Check.Shape(other.Rows, other.Columns), "Inner dimensions of a matrix product must agree.");
            return new Matrix(Rows, other.Columns, ManagedGemm.Multiply(_data, Rows, Columns, other._data, other.Columns));
        }

        /// <summary>
        /// Element-wise sum a + b (a new matrix). Lets F# sum kernels in a pipeline:
        /// <c>layers.Kernels |> Seq.map (fun k -> k.Matrix) |> Seq.reduce (+)</c>.
        /// </summary>
        /// <param name="a">Left operand.</param>
        /// <param name="b">Right operand, same shape.</param>
        /// <returns>New matrix with entries a_ij + b_ij.</returns>
        /// <exception cref="ShapeMismatchException">The shapes differ.</exception>
        public static Matrix operator +(Matrix a, Matrix b) => Combine(a, b, 1.0);

        /// <summary>Element-wise difference a − b (a new matrix).</summary>
        /// <param name="a">Left operand.</param>
        /// <param name="b">Right operand, same shape.</param>
        /// <returns>New matrix with entries a_ij − b_ij.</returns>
        /// <exception cref="ShapeMismatchException">The shapes differ.</exception>
        public static Matrix operator -(Matrix a, Matrix b) => Combine(a, b, -1.0);

        /// <summary>A scalar multiple s·a (a new matrix).</summary>
        /// <param name="s">The scalar.</param>
        /// <param name="a">The matrix.</param>
        /// <returns>New matrix with entries s·a_ij.</returns>
        public static Matrix operator *(double s, Matrix a)
        {
            Check.NotNull(a, nameof(a));
            var d = new double[a._data.Length];
            for (long i = 0; i < d.Length; i++) d[i] = s * a._data[i];
            return new Matrix(a.Rows, a.Columns, d);
        }

        private static Matrix Combine(Matrix a, Matrix b, double sign)
        {
            Check.NotNull(a, nameof(a));
            Check.NotNull(b, nameof(b));
            if (a.Rows != b.Rows || a.Columns != b.Columns)
                throw new ShapeMismatchException(nameof(b), Check.Shape(a.Rows, a.Columns), Check.Shape(b.Rows, b.Columns), "Element-wise operations need matrices of the same shape.");
            var d = new double[a._data.Length];
            for (long i = 0; i < d.Length; i++) d[i] = a._data[i] + sign * b._data[i];
            return new Matrix(a.Rows, a.Columns, d);
        }

        /// <summary>Element-wise maximum absolute difference to another matrix of the same shape.</summary>
        /// <param name="other">Matrix of the same shape.</param>
        /// <returns>max |this − other|.</returns>
        public double MaxAbsDifference(Matrix other)
        {
            Check.NotNull(other, nameof(other));
            if (other.Rows != Rows || other.Columns != Columns)
                throw new ShapeMismatchException(nameof(other), Check.Shape(Rows, Columns), Check.Shape(other.Rows, other.Columns));
            double m = 0;
            for (long i = 0; i < _data.Length; i++) m = Math.Max(m, Math.Abs(_data[i] - other._data[i]));
            return m;
        }

        /// <summary>Largest absolute entry (0 for an empty matrix).</summary>
        /// <returns>max |a_ij|.</returns>
        public double MaxAbs()
        {
            double m = 0;
            foreach (var v in _data) m = Math.Max(m, Math.Abs(v));
            return m;
        }

        /// <summary>Frobenius norm.</summary>
        /// <returns>sqrt(Σ a_ij²).</returns>
        public double FrobeniusNorm()
        {
            double s = 0;
            foreach (var v in _data) s += v * v;
            return Math.Sqrt(s);
        }

        /// <summary>Short description, e.g. "Matrix [3, 4]".</summary>
        /// <returns>The description.</returns>
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "Matrix [{0}, {1}]", Rows, Columns);
    }
}
