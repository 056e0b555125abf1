using System;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Linalg.Providers
{
    /// <summary>The libtorch backend: float64 LAPACK in oneMKL through torch.linalg (eigh/eigvalsh, qr, svd, svdvals).</summary>
    internal sealed class TorchLinearAlgebra : ILinearAlgebraProvider
    {
        public static readonly TorchLinearAlgebra Instance = new();

        private TorchLinearAlgebra() { }

        public static string Description => "libtorch torch.linalg (oneMKL LAPACK: DSYEVD, DGEQRF/DORGQR, DGESDD), float64";

        public LinearAlgebraBackend Backend => LinearAlgebraBackend.Torch;

        public EigenPairs SymmetricEigen(Matrix a, int topK, bool vectors)
        {
            int n = a.Rows;
            using var scope = torch.NewDisposeScope();
            var t = TorchOps.ToTensor(a);
            if (!vectors)
            {
                var vals = TorchOps.Native("symmetric eigenvalues (eigvalsh)", () => torch.linalg.eigvalsh(t));
                return new EigenPairs(TorchOps.ToArray(vals.narrow(0, n - topK, topK).flip(0)), null);
            }
            var (values, vecs) = TorchOps.Native("symmetric eigendecomposition (eigh)", () => torch.linalg.eigh(t));
            return new EigenPairs(TorchOps.ToArray(values.narrow(0, n - topK, topK).flip(0)), TorchOps.ToMatrix(vecs.narrow(1, n - topK, topK).flip(1)));
        }

        public ThinQr Qr(Matrix a)
        {
            using var scope = torch.NewDisposeScope();
            var (q, r) = TorchOps.Native("reduced QR", () => torch.linalg.qr(TorchOps.ToTensor(a), torch.linalg.QRMode.Reduced));
            return new ThinQr(TorchOps.ToMatrix(q), TorchOps.ToArray(r.diagonal().abs()));
        }

        public ThinSvd Svd(Matrix a)
        {
            using var scope = torch.NewDisposeScope();
            var (u, s, _) = TorchOps.Native("thin SVD", () => torch.linalg.svd(TorchOps.ToTensor(a), fullMatrices: false));
            return new ThinSvd(TorchOps.ToMatrix(u), TorchOps.ToArray(s));
        }

        public double[] SingularValues(Matrix a)
        {
            using var scope = torch.NewDisposeScope();
            return TorchOps.ToArray(TorchOps.Native("singular values (svdvals)", () => torch.linalg.svdvals(TorchOps.ToTensor(a))));
        }
    }
}
