namespace Entk.Kernels
{
    /// <summary>How one parameter tensor's kernel contribution was computed.</summary>
    public enum TensorRouteKind
    {
        /// <summary>A layer rule (<see cref="Rules.ILayerRule"/>) from captured activations and cotangents.</summary>
        LayerRule,
        /// <summary>A model-specific closed form (TMS, the modular MLP, dense networks).</summary>
        ClosedForm,
        /// <summary>The generic route: per-sample gradients by autograd (one backward pass per sample and output).</summary>
        Generic,
        /// <summary>NTK-vector products from reverse-mode passes.</summary>
        NtkVectorProducts,
    }

    /// <summary>The route one parameter tensor took (immutable).</summary>
    public sealed class TensorRoute
    {
        internal TensorRoute(string tensor, TensorRouteKind kind, string description, string? fallbackReason = null)
        {
            Tensor = tensor;
            Kind = kind;
            Description = description;
            FallbackReason = fallbackReason;
        }

        /// <summary>The tensor's name in the model's layout (e.g. "0.weight").</summary>
        public string Tensor { get; }

        /// <summary>The kind of route.</summary>
        public TensorRouteKind Kind { get; }

        /// <summary>What ran, e.g. "Linear rule, pairwise (a·a')(δ·δ')" or "generic: per-sample autograd".</summary>
        public string Description { get; }

        /// <summary>Why a tensor took the generic route although the engine tried a rule (null otherwise).</summary>
        public string? FallbackReason { get; }

        /// <inheritdoc />
        public override string ToString() => Tensor + ": " + Description + (FallbackReason is null ? "" : " (" + FallbackReason + ")");
    }
}
