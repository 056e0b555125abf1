using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Training
{
    /// <summary>
    /// Adam / AdamW written out with the same operation order as PyTorch's single-tensor CPU
    /// implementation (torch 1.13 <c>_single_tensor_adam(w)</c>), so that float64 training matches the
    /// Python reference step for step:
    /// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε);
    /// AdamW first decays θ ← θ·(1 − lr·λ).
    /// </summary>
    internal sealed class AdamOptimizer
    {
        private readonly Tensor[] _params;
        private readonly Tensor[] _m;
        private readonly Tensor[] _v;
        private readonly double _lr, _beta1, _beta2, _eps, _weightDecay;
        private readonly bool _decoupled;
        private long _step;

        public AdamOptimizer(IReadOnlyList<Tensor> parameters, double lr, double weightDecay = 0, bool decoupled = false, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        {
            _params = new Tensor[parameters.Count];
            _m = new Tensor[parameters.Count];
            _v = new Tensor[parameters.Count];
            for (int i = 0; i < parameters.Count; i++)
            {
                _params[i] = parameters[i];
                _m[i] = torch.zeros_like(parameters[i]).DetachFromDisposeScope();
                _v[i] = torch.zeros_like(parameters[i]).DetachFromDisposeScope();
            }
            _lr = lr;
            _beta1 = beta1;
            _beta2 = beta2;
            _eps = eps;
            _weightDecay = weightDecay;
            _decoupled = decoupled;
        }

        public void Step()
        {
            _step++;
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            double bc1 = 1 - Math.Pow(_beta1, _step);
            double bc2 = 1 - Math.Pow(_beta2, _step);
            double stepSize = _lr / bc1;
            double bc2Sqrt = Math.Sqrt(bc2);
            // Explicit Scalars held until the end of the step: a temporary from an implicit double → Scalar conversion can be
            // finalised by the garbage collector while the native call still reads it ("Scalar::toDouble: Expected false to
            // be true", seen in CI in this step).
            using Scalar decay = 1 - _lr * _weightDecay, wd = _weightDecay, b1 = _beta1, b1c = 1 - _beta1, b2 = _beta2, b2c = 1 - _beta2,
                eps = _eps, bc2s = bc2Sqrt, step = -stepSize;
            for (int i = 0; i < _params.Length; i++)
            {
                var p = _params[i];
                var g = p.grad;
                if (g is null) continue;
                if (_weightDecay != 0)
                {
                    if (_decoupled) p.mul_(decay);
                    else g = g.add(p, alpha: wd);
                }
                _m[i].mul_(b1).add_(g, alpha: b1c);
                _v[i].mul_(b2).addcmul_(g, g, value: b2c);
                var denom = _v[i].sqrt().div_(bc2s).add_(eps);
                p.addcdiv_(_m[i], denom, value: step);
                GC.KeepAlive(g);
            }
        }

        public void ZeroGrad()
        {
            foreach (var p in _params)
            {
                var g = p.grad;
                if (g is not null) g.zero_();
            }
        }
    }
}
