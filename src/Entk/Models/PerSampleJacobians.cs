using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Models
{
    /// <summary>
    /// The reference per-sample Jacobian by autograd, shared by every model type: one forward pass per sample and one
    /// backward pass per virtual output y_v(x_n) = Σ_c w[v, c]·f_c(x_n), each output's gradients freed before the next.
    /// Correct for any differentiable model; the engine uses it where no faster route applies.
    /// </summary>
    internal static class PerSampleJacobians
    {
        /// <summary>
        /// Gradients of the V virtual outputs with respect to the chosen leaves of a forward session.
        /// </summary>
        /// <param name="session">An open forward session (its leaves require gradients).</param>
        /// <param name="x">Inputs (N, D), float64.</param>
        /// <param name="w">Output weights (V, C), float64.</param>
        /// <param name="leafIndices">Which of the session's leaves (layout positions) to differentiate.</param>
        /// <param name="counts">Element counts of those leaves.</param>
        /// <param name="samplesDone">Progress callback (samples).</param>
        /// <returns>One float64 tensor (N, V, count) per chosen leaf.</returns>
        public static Tensor[] Loop(ForwardSession session, Tensor x, Tensor w, IReadOnlyList<int> leafIndices, IReadOnlyList<long> counts, Action<int>? samplesDone)
        {
            long n = x.shape[0], v = w.shape[0];
            var result = new Tensor[leafIndices.Count];
            for (int t = 0; t < result.Length; t++) result[t] = torch.zeros(new long[] { n, v, counts[t] }, ScalarType.Float64);
            if (result.Length == 0) { samplesDone?.Invoke((int)n); return result; }
            var leaves = new Tensor[leafIndices.Count];
            for (int t = 0; t < leaves.Length; t++) leaves[t] = session.Leaves[leafIndices[t]];
            var wt = w.t();
            using var grad = torch.enable_grad();
            using var threads = Torch.TorchThreads.ForSmallOperations();   // one sample at a time: tiny operations
            for (long i = 0; i < n; i++)
            {
                using var scope = torch.NewDisposeScope();
                var yv = session.Forward(x.narrow(0, i, 1)).mm(wt);                       // (1, V)
                if (!yv.requires_grad) { samplesDone?.Invoke(1); continue; }             // output independent of θ
                for (long k = 0; k < v; k++)
                {
                    using var perOutput = torch.NewDisposeScope();                       // free this output's gradients before the next
                    var grads = torch.autograd.grad(new[] { yv[0, k] }, leaves, retain_graph: k < v - 1, allow_unused: true);
                    for (int t = 0; t < leaves.Length; t++)
                    {
                        var g = grads[t];
                        if (g is null || g.IsInvalid) continue;
                        result[t][i, k].copy_(g.to(ScalarType.Float64).reshape(counts[t]));
                    }
                }
                samplesDone?.Invoke(1);
            }
            return result;
        }
    }
}
