using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using Entk.Kernels;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Linalg
{
    /// <summary>Options of <see cref="Lanczos.TopK"/>. Defaults are documented per member.</summary>
    public sealed record LanczosOptions
    {
        /// <summary>Convergence: every wanted pair has ‖K·u − θ·u‖ ≤ Tolerance · |θ_max| (default 1e-10).</summary>
        public double Tolerance { get; init; } = 1e-10;

        /// <summary>Krylov basis size m per restart cycle (default min(n, max(2k + 40, k + 100))).</summary>
        public int? BasisSize { get; init; }

        /// <summary>Maximum number of operator applications (default 50·n or 100·m, whichever is smaller, at least 10·m).</summary>
        public int? MaxApplications { get; init; }

        /// <summary>Seed of the random start vector (default 0).</summary>
        public long Seed { get; init; }

        /// <summary>Ridge policy applied to the reported eigenvalues (default none).</summary>
        public RidgePolicy Ridge { get; init; } = RidgePolicy.None;

        /// <summary>Optional progress sink (units: operator applications).</summary>
        public IProgress<EntkProgress>? Progress { get; init; }
    }

    /// <summary>
    /// Top-k eigenpairs of a symmetric operator by thick-restart Lanczos with full reorthogonalisation
    /// (classical Gram–Schmidt applied twice). Each cycle extends an orthonormal Krylov basis V to m vectors,
    /// takes the Rayleigh–Ritz pairs of H = VᵀKV, and restarts from the best k + (m − k)/2 Ritz vectors plus the
    /// last Lanczos vector. The result reports the true residual ‖K·u − θ·u‖ of every returned pair
    /// (<see cref="EigenDecomposition.Residuals"/>), computed with one extra block application.
    /// Memory: n·(m + 1) doubles for the basis plus the operator's own.
    /// </summary>
    public static class Lanczos
    {
        /// <summary>Computes the k largest eigenpairs.</summary>
        /// <param name="op">The operator (symmetric positive semi-definite for eNTKs).</param>
        /// <param name="topK">k, 1 ≤ k &lt; n.</param>
        /// <param name="options">Options.</param>
        /// <returns>Eigenvalues (descending, plus the ridge shift) and unit eigenvectors (n × k), with residuals.</returns>
        /// <exception cref="EntkArgumentException">k out of range or bad options.</exception>
        /// <exception cref="InvalidOperationException">No convergence within the application budget (the message gives the worst residual).</exception>
        public static EigenDecomposition TopK(KernelOperator op, int topK, LanczosOptions? options = null)
        {
            Check.NotNull(op, nameof(op));
            var o = options ?? new LanczosOptions();
            int n = op.Dimension;
            Check.InRange(topK, 1, Math.Max(1, n - 1), nameof(topK));
            Check.InRange(o.Tolerance, 1e-15, 1e-1, nameof(options) + ".Tolerance");
            int m = o.BasisSize ?? Math.Min(n, Math.Max(2 * topK + 40, topK + 100));
            Check.InRange(m, topK + 1, n, nameof(options) + ".BasisSize");
            int maxApps = o.MaxApplications ?? Math.Max(10 * m, Math.Min(50 * n, 100 * m));
            Check.Positive(maxApps, nameof(options) + ".MaxApplications");
            using var scope = torch.NewDisposeScope();
            var v = torch.zeros(new long[] { n, m + 1 }, ScalarType.Float64);
            var h = torch.zeros(new long[] { m, m }, ScalarType.Float64);
            var gen = new torch.Generator((ulong)o.Seed, torch.CPU);
            var start = torch.randn(new long[] { n }, ScalarType.Float64, generator: gen);
            v.select(1, 0).copy_(start / start.norm());
            int j0 = 0;
            long apps = 0;
            double beta = 0;
            Tensor theta = torch.zeros(0, ScalarType.Float64), s = torch.zeros(0, ScalarType.Float64);
            double[] resid = Array.Empty<double>();
            o.Progress?.Report(new EntkProgress("lanczos", 0, maxApps));
            while (true)
            {
                for (int j = j0; j < m; j++)
                {
                    using var inner = torch.NewDisposeScope();
                    var q = v.narrow(1, j, 1);
                    var w = op.ApplyTensor(q).reshape(n, 1);
                    apps++;
                    var basis = v.narrow(1, 0, j + 1);
                    var c1 = basis.t().mm(w);
                    w = w - basis.mm(c1);
                    var c2 = basis.t().mm(w);
                    w = w - basis.mm(c2);
                    var col = (c1 + c2).squeeze(1);
                    // Rayleigh quotient column j of VᵀKV (symmetric).
                    h.narrow(0, 0, j + 1).select(1, j).copy_(col);
                    h.select(0, j).narrow(0, 0, j + 1).copy_(col);
                    beta = w.norm().item<double>();
                    double scale = Math.Max(Math.Abs(col.abs().max().item<double>()), 1e-300);
                    if (beta <= 1e-13 * scale)
                    {
                        // Invariant subspace: continue with a random vector orthogonal to the basis.
                        var r = torch.randn(new long[] { n, 1 }, ScalarType.Float64, generator: gen);
                        for (int pass = 0; pass < 2; pass++) r = r - basis.mm(basis.t().mm(r));
                        w = r;
                        beta = 0;
                        v.narrow(1, j + 1, 1).copy_(w / w.norm());
                    }
                    else
                    {
                        v.narrow(1, j + 1, 1).copy_(w / beta);
                    }
                    if (j + 1 < m)
                    {
                        h[j + 1, j] = torch.tensor(beta, ScalarType.Float64);
                        h[j, j + 1] = torch.tensor(beta, ScalarType.Float64);
                    }
                    if (o.Progress is not null && apps % 20 == 0) o.Progress.Report(new EntkProgress("lanczos", Math.Min(apps, maxApps), maxApps));
                }
                var (vals, vecs) = torch.linalg.eigh((h + h.t()) * 0.5);
                theta = vals.flip(0);
                s = vecs.flip(1);
                var lastRow = s.select(0, m - 1).abs() * beta;           // |β_m s_{m,i}|: residual estimates
                var th = TorchOps.ToArray(theta);
                resid = TorchOps.ToArray(lastRow);
                double thMax = Math.Max(Math.Abs(th[0]), 1e-300);
                bool converged = resid.Take(topK).All(r => r <= o.Tolerance * thMax);
                if (converged || apps >= maxApps) break;
                // Thick restart: keep l Ritz vectors, then the last Lanczos vector.
                int l = Math.Min(m - 1, topK + Math.Max(1, (m - topK) / 2));
                var y = v.narrow(1, 0, m).mm(s.narrow(1, 0, l));
                var last = v.select(1, m).clone();
                v.narrow(1, 0, l).copy_(y);
                v.select(1, l).copy_(last);
                h.zero_();
                for (int i = 0; i < l; i++)
                {
                    h[i, i] = torch.tensor(th[i], ScalarType.Float64);
                    double b = beta * s[m - 1, i].item<double>();
                    h[i, l] = torch.tensor(b, ScalarType.Float64);
                    h[l, i] = torch.tensor(b, ScalarType.Float64);
                }
                // Column l of H is filled when row/column l is computed in the next cycle (full reorthogonalisation
                // recomputes the coupling exactly).
                j0 = l;
            }
            var u = v.narrow(1, 0, m).mm(s.narrow(1, 0, topK));
            // Re-orthonormalise (rounding) and compute true residuals with one block application.
            var (qq, rr) = torch.linalg.qr(u);
            var signs = torch.sign(torch.diagonal(rr));
            u = qq * signs.unsqueeze(0);
            var ku = op.ApplyTensor(u);
            var rq = (u * ku).sum(dim: 0);                                     // refined Rayleigh quotients
            var res = (ku - u * rq.unsqueeze(0)).norm(0, false);
            var order = rq.argsort(0, true);
            rq = rq.index_select(0, order);
            u = u.index_select(1, order);
            res = res.index_select(0, order);
            var values = TorchOps.ToArray(rq);
            var residuals = TorchOps.ToArray(res);
            double worst = residuals.Max() / Math.Max(Math.Abs(values[0]), 1e-300);
            o.Progress?.Report(new EntkProgress("lanczos", maxApps, maxApps));
            if (worst > Math.Max(10 * o.Tolerance, 1e-8))
                throw new InvalidOperationException(Check.Inv($"Lanczos did not converge within {apps} applications (worst relative residual {worst:E2}); raise LanczosOptions.MaxApplications or BasisSize."));
            double shift = o.Ridge.ShiftFor(op.Trace / n);
            for (int i = 0; i < values.Length; i++) values[i] += shift;
            return new EigenDecomposition(values, TorchOps.ToMatrix(u), shift, SpectrumRoute.Lanczos, residuals);
        }
    }
}
