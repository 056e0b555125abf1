using System;
using Entk.Internal;
using Entk.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Linearization
{
    /// <summary>
    /// Randomised Nyström approximation K ≈ U Λ̂ Uᵀ of a PSD operator from ℓ products (Frangella, Tropp and Udell,
    /// "Randomized Nyström preconditioning", SIAM J. Matrix Anal. Appl. 2023, Algorithm 2.1), used as the preconditioner
    /// P⁻¹ = (λ̂_ℓ + μ)·U(Λ̂ + μI)⁻¹Uᵀ + (I − UUᵀ) for K + μI.
    /// </summary>
    internal sealed class NystromPreconditioner
    {
        private NystromPreconditioner(Tensor? u, Tensor? values)
        {
            U = u;
            Values = values;
        }

        /// <summary>Orthonormal columns (n × ℓ), or null for no preconditioning.</summary>
        public Tensor? U { get; }

        /// <summary>Λ̂ (ℓ), descending, non-negative.</summary>
        public Tensor? Values { get; }

        public int Rank => U is null ? 0 : (int)U.shape[1];

        public static NystromPreconditioner None { get; } = new(null, null);

        /// <summary>Builds the sketch from ℓ operator applications; the tensors belong to the caller's dispose scope.</summary>
        public static NystromPreconditioner Build(KernelOperator op, int rank, long seed)
        {
            if (rank <= 0) return None;
            long n = op.Dimension;
            var gen = new torch.Generator((ulong)seed, torch.CPU);
            var omega = torch.randn(new long[] { n, rank }, ScalarType.Float64, generator: gen);
            omega = torch.linalg.qr(omega).Q;                                     // n × ℓ orthonormal test matrix
            var y = op.ApplyTensor(omega);
            double nu = Math.Sqrt(n) * 2.220446049250313e-16 * Math.Max(y.norm().item<double>(), 1e-300);
            var ynu = y + nu * omega;
            var core = omega.t().mm(ynu);
            core = (core + core.t()) * 0.5;
            var (l, info) = torch.linalg.cholesky_ex(core);
            Tensor b;
            if (info.item<int>() == 0)
            {
                b = torch.linalg.solve_triangular(l, ynu.t(), upper: false).t();   // Y_ν L⁻ᵀ
            }
            else
            {
                // ΩᵀY_ν is numerically semidefinite (K of tiny rank): use its eigendecomposition instead of Cholesky.
                var (w, v) = torch.linalg.eigh(core);
                var keep = w > 1e-14 * Math.Max(w.max().item<double>(), 1e-300);
                var inv = torch.where(keep, w.clamp_min(1e-300).rsqrt(), torch.zeros_like(w));
                b = ynu.mm(v * inv.unsqueeze(0));
            }
            var (uu, sv, _) = torch.linalg.svd(b, fullMatrices: false);
            var lam = (sv * sv - nu).clamp_min(0);
            return new NystromPreconditioner(uu, lam);
        }

        /// <summary>P⁻¹·r for K + μI (r: n × b).</summary>
        public Tensor Apply(Tensor r, double mu)
        {
            if (U is null) return r;
            double last = Values![Values.shape[0] - 1].item<double>();
            var coeff = (last + mu) / (Values + mu) - 1.0;                       // (ℓ)
            return r + U.mm(U.t().mm(r) * coeff.unsqueeze(1));
        }
    }

    /// <summary>The outcome of a conjugate-gradient solve.</summary>
    internal sealed class CgResult
    {
        public CgResult(Tensor solution, int iterations, double relativeResidual)
        {
            Solution = solution;
            Iterations = iterations;
            RelativeResidual = relativeResidual;
        }

        public Tensor Solution { get; }

        public int Iterations { get; }

        /// <summary>max over columns of the true ‖v − (K + μI)α‖/‖v‖.</summary>
        public double RelativeResidual { get; }
    }

    /// <summary>Preconditioned conjugate gradient for (K + μI)·A = B, one independent recurrence per column, products batched.</summary>
    internal static class ConjugateGradient
    {
        public static CgResult Solve(KernelOperator op, double mu, Tensor rhs, NystromPreconditioner pre, double tolerance, int maxIterations, IProgress<EntkProgress>? progress)
        {
            long n = rhs.shape[0], b = rhs.shape[1];
            var bnorm = rhs.norm(0, false);                                          // (b)
            var safe = bnorm.clamp_min(1e-300);
            var x = torch.zeros_like(rhs);
            Tensor Apply(Tensor v) => op.ApplyTensor(v) + mu * v;
            int iterations = 0;
            double worst = 0;
            // Outer cycles restart from the true residual (residual replacement), so the reported residual is never
            // only the recursively updated one.
            for (int cycle = 0; cycle < 4; cycle++)
            {
                var r = rhs - Apply(x);
                var rel = r.norm(0, false) / safe;
                worst = rel.max().item<double>();
                if (worst <= tolerance || iterations >= maxIterations) break;
                var z = pre.Apply(r, mu);
                var p = z.clone();
                var rz = (r * z).sum(dim: 0);
                while (iterations < maxIterations)
                {
                    using var step = torch.NewDisposeScope();
                    var active = (r.norm(0, false) / safe) > tolerance;                 // converged columns stop moving
                    if (!active.any().item<bool>()) break;
                    var q = Apply(p);
                    var pq = (p * q).sum(dim: 0);
                    var alpha = torch.where(active & (pq > 0), rz / pq.clamp_min(1e-300), torch.zeros_like(pq));
                    x.add_(p * alpha.unsqueeze(0));
                    r.sub_(q * alpha.unsqueeze(0));
                    var zi = pre.Apply(r, mu);
                    var rzNew = (r * zi).sum(dim: 0);
                    var beta = torch.where(active, rzNew / rz.clamp_min(1e-300), torch.zeros_like(rzNew));
                    p.mul_(beta.unsqueeze(0)).add_(zi);                                  // in place: nothing outlives the step
                    rz.copy_(torch.where(active, rzNew, rz));
                    iterations++;
                    if (progress is not null && iterations % 10 == 0)
                        progress.Report(new EntkProgress("conjugate gradient", iterations, maxIterations));
                }
            }
            var trueRes = ((rhs - Apply(x)).norm(0, false) / safe);
            // A zero right-hand side has the exact solution 0.
            trueRes = torch.where(bnorm > 0, trueRes, torch.zeros_like(trueRes));
            worst = trueRes.max().item<double>();
            if (!(worst <= Math.Max(tolerance, 1e-300) * 10))
                throw new InvalidOperationException(Check.Inv($"Conjugate gradient did not converge within {iterations} iterations (relative residual {worst:E2}, tolerance {tolerance:E1}); raise KernelRegressionOptions.MaxIterations or PreconditionerRank, a larger ridge, or another LinearSolveMethod."));
            return new CgResult(x, iterations, worst);
        }
    }
}
