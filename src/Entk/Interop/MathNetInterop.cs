using Entk.Internal;
using MathNet.Numerics.LinearAlgebra;

namespace Entk
{
    /// <summary>
    /// Conversions between Entk's <see cref="Matrix"/> and MathNet.Numerics' <see cref="Matrix{T}"/> of <see cref="double"/>.
    /// Both directions copy: the result shares no memory with the source, so changing a MathNet matrix afterwards never
    /// changes an Entk matrix (which is immutable) and vice versa. Entk stores row-major, MathNet's dense storage is
    /// column-major; the copy transposes the storage, not the matrix (element (i, j) stays element (i, j)).
    /// </summary>
    /// <example>
    /// C#: <c>var m = kernel.Matrix.ToMathNet(); var back = m.Inverse().ToEntkMatrix();</c>
    /// F#: <c>let evd = kernel.Matrix.ToMathNet().Evd()</c>
    /// </example>
    public static class MathNetInterop
    {
        /// <summary>A new dense MathNet matrix with the same shape and values (a copy; the caller owns it).</summary>
        /// <param name="matrix">The Entk matrix.</param>
        /// <returns>A new <c>DenseMatrix</c>, Rows × Columns.</returns>
        /// <exception cref="System.ArgumentNullException"><paramref name="matrix"/> is null.</exception>
        public static Matrix<double> ToMathNet(this Matrix matrix)
        {
            Check.NotNull(matrix, nameof(matrix));
            int r = matrix.Rows, c = matrix.Columns;
            var src = matrix.Span;
            var columnMajor = new double[(long)r * c];
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++)
                    columnMajor[(long)j * r + i] = src[i * c + j];
            return Matrix<double>.Build.Dense(r, c, columnMajor);
        }

        /// <summary>
        /// A new Entk matrix with the same shape and values as a MathNet matrix (dense or sparse; a copy, so later changes
        /// to <paramref name="matrix"/> do not affect it).
        /// </summary>
        /// <param name="matrix">The MathNet matrix.</param>
        /// <returns>The Entk matrix, RowCount × ColumnCount.</returns>
        /// <exception cref="System.ArgumentNullException"><paramref name="matrix"/> is null.</exception>
        public static Matrix ToEntkMatrix(this Matrix<double> matrix)
        {
            Check.NotNull(matrix, nameof(matrix));
            return Matrix.Wrap(matrix.RowCount, matrix.ColumnCount, matrix.ToRowMajorArray());
        }
    }
}
