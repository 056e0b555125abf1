using System;
using System.Numerics;
using System.Threading.Tasks;

namespace Entk.Internal
{
    /// <summary>
    /// C = A·B for row-major float64 arrays, in managed code: rows of C are independent (parallel over row blocks when
    /// the product is large), and each row is accumulated as C[i,:] += A[i,k]·B[k,:] over k in blocks of B's rows so
    /// that the active part of B stays in cache. Vectorised with <see cref="Vector{T}"/>. Deterministic: every element
    /// is summed in the same order regardless of threads.
    /// </summary>
    internal static class ManagedGemm
    {
        private const int KBlock = 128;

        public static double[] Multiply(double[] a, int m, int k, double[] b, int n)
        {
            var c = new double[checked((long)m * n)];
            if (m == 0 || n == 0 || k == 0) return c;
            double flops = 2.0 * m * n * k;
            if (flops < 4e6 || m < 4)
            {
                Rows(a, b, c, k, n, 0, m);
                return c;
            }
            int blocks = Math.Min(m, Environment.ProcessorCount * 4);
            int per = (m + blocks - 1) / blocks;
            Parallel.For(0, blocks, blk =>
            {
                int start = blk * per, end = Math.Min(m, start + per);
                if (start < end) Rows(a, b, c, k, n, start, end);
            });
            return c;
        }

        private static void Rows(double[] a, double[] b, double[] c, int k, int n, int rowStart, int rowEnd)
        {
            int vw = Vector<double>.Count;
            for (int k0 = 0; k0 < k; k0 += KBlock)
            {
                int k1 = Math.Min(k, k0 + KBlock);
                for (int i = rowStart; i < rowEnd; i++)
                {
                    var ci = c.AsSpan((int)((long)i * n), n);
                    long aRow = (long)i * k;
                    for (int kk = k0; kk < k1; kk++)
                    {
                        double aik = a[aRow + kk];
                        var bk = b.AsSpan((int)((long)kk * n), n);
                        var va = new Vector<double>(aik);
                        int j = 0;
                        for (; j <= n - vw; j += vw)
                        {
                            var vc = new Vector<double>(ci.Slice(j, vw));
                            (vc + va * new Vector<double>(bk.Slice(j, vw))).CopyTo(ci.Slice(j, vw));
                        }
                        for (; j < n; j++) ci[j] += aik * bk[j];
                    }
                }
            }
        }
    }
}
