using System;
using System.Linq;
using Entk.Kernels;
using Entk.Models;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Linearization
{
    /// <summary>
    /// The two products with the (output-scaled) Jacobian J̃ = diag(s) J that every linearisation route needs, without
    /// forming J̃: the pullback J̃(X)ᵀ·V (N·C ↦ P, one reverse pass per column) and the push-forward J̃(x)·U (P ↦ N·C: the
    /// model's structured rule where it has one, otherwise a JVP by the double-VJP trick). Rows are sample-major
    /// (n, c); parameter rows follow the model's layout. Work is split into sample chunks within the memory budget.
    /// </summary>
    internal sealed class TangentMaps
    {
        private readonly NtkModel _model;
        private readonly double[] _s;
        private readonly bool _structured;
        private readonly int _chunk;

        public TangentMaps(NtkModel model, double[] scales, NtkOptions options)
        {
            _model = model;
            _s = scales;
            _structured = options.Method is NtkMethod.Auto or NtkMethod.Structured;
            _chunk = EmpiricalNtk.SampleChunk(model, options);
        }

        /// <summary>J̃(x)ᵀ·v for v of shape (N, C, b): result (P, b), float64.</summary>
        public Tensor TransposeProduct(Tensor x, Tensor v)
        {
            long n = x.shape[0], b = v.shape[2];
            int p = _model.ParameterCount, c = _model.OutputDimension;
            var result = torch.zeros(new long[] { p, b }, ScalarType.Float64);
            var scale = TorchOps.ToTensor(_s, 1, c);
            using var session = _model.OpenSession();
            for (long start = 0; start < n; start += _chunk)
            {
                using var scope = torch.NewDisposeScope();
                long nb = Math.Min(_chunk, n - start);
                var xb = x.narrow(0, start, nb);
                for (long i = 0; i < b; i++)
                {
                    var vi = v.narrow(0, start, nb).select(2, i) * scale;            // (nb, C), rows of output c times s_c
                    var parts = NtkVectorProducts.Vjp(session, xb, vi);
                    var flat = torch.cat(parts.Select(t => t.reshape(-1)).ToArray(), 0);
                    result.select(1, i).add_(flat);
                }
            }
            return result;
        }

        /// <summary>J̃(x)·u for u of shape (P, b): result (N, C, b), float64.</summary>
        public Tensor Product(Tensor x, Tensor u)
        {
            long n = x.shape[0], b = u.shape[1];
            int c = _model.OutputDimension;
            if (_structured && _model.Structured is { } st)
            {
                // The structured rule (TMS) is cheap; the caller's dispose scope owns the results.
                var first = st.JacobianProduct(x.narrow(0, 0, Math.Min(_chunk, n)), _s, u);
                if (first is not null)
                {
                    if (n <= _chunk) return first;
                    var parts = new Tensor[(n + _chunk - 1) / _chunk];
                    parts[0] = first;
                    for (int i = 1; i < parts.Length; i++)
                    {
                        long start = (long)i * _chunk;
                        parts[i] = st.JacobianProduct(x.narrow(0, start, Math.Min(_chunk, n - start)), _s, u)!;
                    }
                    return torch.cat(parts, 0);
                }
            }
            var result = torch.zeros(new long[] { n, c, b }, ScalarType.Float64);
            var scale = TorchOps.ToTensor(_s, 1, c);
            var infos = _model.Layout.Tensors;
            using var session = _model.OpenSession();
            for (long i = 0; i < b; i++)
            {
                using var scope = torch.NewDisposeScope();
                var col = u.select(1, i);
                var pieces = infos.Select((t, k) => col.narrow(0, t.Offset, t.Count).reshape(session.Leaves[k].shape)).ToArray();
                for (long start = 0; start < n; start += _chunk)
                {
                    using var inner = torch.NewDisposeScope();
                    long nb = Math.Min(_chunk, n - start);
                    var y = NtkVectorProducts.Jvp(session, x.narrow(0, start, nb), pieces) * scale;
                    result.narrow(0, start, nb).select(2, i).copy_(y);
                }
            }
            return result;
        }
    }
}
