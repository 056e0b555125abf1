using System;
using System.Linq;
using Entk.Models;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Kernels
{
    /// <summary>
    /// NTK-vector products from reverse-mode passes only (TorchSharp has no forward mode):
    /// u = J₂ᵀ v is one VJP; J₁ u is obtained by the double-VJP trick, differentiating
    /// g(w) = J₁ᵀ w (built with create_graph) against u with respect to the dummy cotangent w.
    /// </summary>
    internal static class NtkVectorProducts
    {
        /// <summary>Per-leaf VJP J(x)ᵀ v for v of shape (N, C); unused leaves give zeros. Results are float64.</summary>
        public static Tensor[] Vjp(ForwardSession session, Tensor x, Tensor v)
        {
            using var grad = torch.enable_grad();
            var y = session.Forward(x);
            var leaves = session.Leaves;
            if (!y.requires_grad) return leaves.Select(l => torch.zeros(l.shape, ScalarType.Float64)).ToArray();
            var grads = torch.autograd.grad(new[] { (y * v).sum() }, leaves, allow_unused: true);
            return leaves.Select((l, i) => grads[i] is Tensor g && !g.IsInvalid ? g.to(ScalarType.Float64) : torch.zeros(l.shape, ScalarType.Float64)).ToArray();
        }

        /// <summary>JVP J(x)·u restricted to the leaves in <paramref name="which"/> (null: all); result (N, C) float64.</summary>
        public static Tensor Jvp(ForwardSession session, Tensor x, Tensor[] u, bool[]? which = null)
        {
            using var grad = torch.enable_grad();
            var leaves = session.Leaves;
            var y = session.Forward(x);
            var w = torch.zeros(y.shape, ScalarType.Float64).requires_grad_(true);
            if (!y.requires_grad) return torch.zeros(y.shape, ScalarType.Float64);
            var g = torch.autograd.grad(new[] { (y * w).sum() }, leaves, retain_graph: true, create_graph: true, allow_unused: true);
            Tensor? s = null;
            for (int t = 0; t < leaves.Length; t++)
            {
                if (which is not null && !which[t]) continue;
                if (g[t] is not Tensor gt || gt.IsInvalid || !gt.requires_grad) continue;
                var term = (gt * u[t].to(gt.dtype)).sum();
                s = s is null ? term : s + term;
            }
            if (s is null || !s.requires_grad) return torch.zeros(y.shape, ScalarType.Float64);
            var r = torch.autograd.grad(new[] { s }, new[] { w }, allow_unused: true);
            return r[0] is Tensor rt && !rt.IsInvalid ? rt.to(ScalarType.Float64) : torch.zeros(y.shape, ScalarType.Float64);
        }

        /// <summary>
        /// Assembles per-tensor kernels column by column: for each (m, d) in x2, the VJP of the unit
        /// cotangent gives J₂ᵀe, then one JVP per tensor gives that tensor's column of the flattened kernel.
        /// </summary>
        public static Tensor[] PerTensorKernels(NtkModel model, Tensor x1, Tensor? x2, KernelReduction reduction, double[] s, NtkOptions opts)
        {
            long n1 = x1.shape[0];
            var xb = x2 ?? x1;
            long n2 = xb.shape[0];
            int c = model.OutputDimension;
            int tensors = model.Layout.Tensors.Count;
            var scale = TorchOps.ToTensor(s, 1, c);
            var cols = new Tensor[tensors];
            for (int t = 0; t < tensors; t++) cols[t] = torch.zeros(new long[] { n1 * c, n2 * c }, ScalarType.Float64);
            using (var session = model.OpenSession())
            {
                long total = n2 * c, done = 0;
                opts.Progress?.Report(new EntkProgress("ntk-vector products", 0, total));
                for (long m = 0; m < n2; m++)
                {
                    for (int d = 0; d < c; d++)
                    {
                        using var scope = torch.NewDisposeScope();
                        var v = torch.zeros(new long[] { n2, c }, ScalarType.Float64);
                        v[m, d] = torch.tensor(s[d], ScalarType.Float64);
                        var u = Vjp(session, xb, v);
                        for (int t = 0; t < tensors; t++)
                        {
                            var which = new bool[tensors];
                            which[t] = true;
                            var col = Jvp(session, x1, u, which) * scale; // (N1, C), rows scaled by s_c
                            cols[t].select(1, m * c + d).copy_(col.reshape(n1 * c));
                        }
                        opts.Progress?.Report(new EntkProgress("ntk-vector products", ++done, total));
                    }
                }
            }
            // cols[t] is the sample-major flattened kernel of tensor t; reduce it.
            return cols.Select(k => reduction.Apply(k.reshape(n1, c, n2, c).permute(0, 2, 1, 3))).ToArray();
        }
    }
}
