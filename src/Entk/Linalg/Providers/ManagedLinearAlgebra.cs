using System;
using System.Linq;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.LinearAlgebra.Factorization;

namespace Entk.Linalg.Providers
{
    /// <summary>
    /// The managed backend: MathNet.Numerics' float64 algorithms (symmetric EVD by Householder tridiagonalisation and
    /// implicit QL, Householder QR, Golub–Kahan SVD). Thin SVDs and singular values of tall matrices go through a thin QR
    /// first (A = QR, R = U_R Σ Vᵀ, U = Q U_R), so that nothing of size r × r is formed.
    /// </summary>
    internal sealed class ManagedLinearAlgebra : ILinearAlgebraProvider
    {
        public static readonly ManagedLinearAlgebra Instance = new();

        private ManagedLinearAlgebra() { }

        public static string Description =>
            "MathNet.Numerics " + (typeof(Matrix<double>).Assembly.GetName().Version?.ToString(3) ?? "?")
            + " (provider: " + MathNet.Numerics.Providers.LinearAlgebra.LinearAlgebraControl.Provider + "), float64";

        public LinearAlgebraBackend Backend => LinearAlgebraBackend.Managed;

        public EigenPairs SymmetricEigen(Matrix a, int topK, bool vectors)
        {
            int n = a.Rows;
            var evd = MathNetInterop.ToMathNet(a).Evd(Symmetricity.Symmetric);
            var values = evd.EigenValues.Select(v => v.Real).ToArray();
            // Descending order of the eigenvalues (MathNet returns them ascending; sort anyway, stably by index).
            var order = Enumerable.Range(0, n).OrderByDescending(i => values[i]).ThenBy(i => i).Take(topK).ToArray();
            var top = order.Select(i => values[i]).ToArray();
            if (!vectors) return new EigenPairs(top, null);
            var v = evd.EigenVectors;
            var d = new double[(long)n * topK];
            for (int j = 0; j < topK; j++)
            {
                int src = order[j];
                for (int i = 0; i < n; i++) d[(long)i * topK + j] = v.At(i, src);
            }
            return new EigenPairs(top, Matrix.Wrap(n, topK, d));
        }

        public ThinQr Qr(Matrix a)
        {
            var qr = MathNetInterop.ToMathNet(a).QR(QRMethod.Thin);
            var r = qr.R;
            var diag = new double[a.Columns];
            for (int i = 0; i < diag.Length; i++) diag[i] = Math.Abs(r.At(i, i));
            return new ThinQr(FromMathNet(qr.Q), diag);
        }

        public ThinSvd Svd(Matrix a)
        {
            if (a.Rows >= a.Columns)
            {
                var qr = MathNetInterop.ToMathNet(a).QR(QRMethod.Thin);
                var svd = qr.R.Svd(computeVectors: true);
                return new ThinSvd(FromMathNet(qr.Q * svd.U), svd.S.ToArray());
            }
            var wide = MathNetInterop.ToMathNet(a).Svd(computeVectors: true);
            return new ThinSvd(FromMathNet(wide.U), wide.S.ToArray());
        }

        public double[] SingularValues(Matrix a)
        {
            var m = MathNetInterop.ToMathNet(a);
            if (m.RowCount < m.ColumnCount) m = m.Transpose();
            var s = m.QR(QRMethod.Thin).R.Svd(computeVectors: false).S.ToArray();
            Array.Sort(s, (x, y) => y.CompareTo(x));
            return s;
        }

        private static Matrix FromMathNet(Matrix<double> m) => Matrix.Wrap(m.RowCount, m.ColumnCount, m.ToRowMajorArray());
    }
}
