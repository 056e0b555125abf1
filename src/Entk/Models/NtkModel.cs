using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Models
{
    /// <summary>
    /// A model f(θ, x) → R^C as seen by the eNTK engine: a fixed input width, C outputs and an
    /// explicit parameter layout θ (see <see cref="ParameterLayout"/>). Entk never mutates a model:
    /// every model type is immutable, and a wrapped TorchSharp module keeps its parameters and its
    /// train/eval mode (see <see cref="TorchModuleModel"/>).
    /// </summary>
    public abstract class NtkModel
    {
        private protected NtkModel(string name, ParameterLayout layout, int inputDimension, int outputDimension)
        {
            Name = Check.NotNull(name, nameof(name));
            Layout = Check.NotNull(layout, nameof(layout));
            InputDimension = Check.Positive(inputDimension, nameof(inputDimension));
            OutputDimension = Check.Positive(outputDimension, nameof(outputDimension));
        }

        /// <summary>A short human-readable name of the model, e.g. "tms(n=50, m=10)".</summary>
        public string Name { get; }

        /// <summary>The parameter layout (order of θ and of Jacobian columns).</summary>
        public ParameterLayout Layout { get; }

        /// <summary>Number of parameters P.</summary>
        public int ParameterCount => Layout.Count;

        /// <summary>Width of one input row (inputs are matrices N × InputDimension).</summary>
        public int InputDimension { get; }

        /// <summary>Number of outputs C.</summary>
        public int OutputDimension { get; }

        /// <summary>A copy of the flat parameter vector θ (length P, layout order, each tensor row-major).</summary>
        /// <returns>New array.</returns>
        public abstract double[] GetParameters();

        /// <summary>A copy of one parameter tensor, flattened row-major.</summary>
        /// <param name="name">Tensor name from <see cref="Layout"/>.</param>
        /// <returns>New array of the tensor's element count.</returns>
        /// <exception cref="EntkArgumentException">Unknown tensor name.</exception>
        public double[] GetTensor(string name)
        {
            var info = Layout[name];
            return GetParameters().AsSpan(info.Offset, info.Count).ToArray();
        }

        /// <summary>Evaluates the model on a batch: row n of the result is f(θ, x_n).</summary>
        /// <param name="x">Inputs, N × <see cref="InputDimension"/>, finite.</param>
        /// <returns>Outputs, N × <see cref="OutputDimension"/>.</returns>
        /// <exception cref="ShapeMismatchException">x has the wrong width.</exception>
        /// <exception cref="NonFiniteValueException">x contains NaN or ±Infinity.</exception>
        public Matrix Evaluate(Matrix x)
        {
            ValidateInputs(x, nameof(x), allowEmpty: true);
            if (x.Rows == 0) return Matrix.Zeros(0, OutputDimension);
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            using var xt = Torch.TorchOps.ToTensor(x);
            var y = EvaluateTensor(xt);
            return Torch.TorchOps.ToMatrix(y);
        }

        /// <summary>Validates an input matrix (width, finiteness, non-empty).</summary>
        internal void ValidateInputs(Matrix x, string paramName, bool allowEmpty = false)
        {
            Check.NotNull(x, paramName);
            if (x.Columns != InputDimension)
                throw new ShapeMismatchException(paramName, Check.Inv($"[*, {InputDimension}]"), Check.Shape(x.Rows, x.Columns), Check.Inv($"Model '{Name}' takes inputs of width {InputDimension}."));
            if (!allowEmpty && x.Rows == 0)
                throw new EntkArgumentException(paramName, "at least one input row", "an empty input set [0, " + x.Columns + "]");
            Check.AllFinite(x.Span, paramName, x.Columns);
        }

        /// <summary>Forward pass on a float64 tensor (N, D) → (N, C) at the model's parameters, without gradients.</summary>
        internal abstract Tensor EvaluateTensor(Tensor x);

        /// <summary>
        /// Jacobians of the virtual outputs y_v(x_n) = Σ_c w[v, c] f_c(x_n) with respect to each
        /// parameter tensor: element t of the result has shape (N, V, count_t), float64.
        /// </summary>
        internal abstract Tensor[] JacobianTensors(Tensor x, Tensor outputWeights, int chunkSize, Action<int>? samplesDone);

        /// <summary>
        /// Opens a differentiable forward session at the model's parameters: leaf tensors that require
        /// gradients, and a forward pass (N, D) → (N, C) float64 built on them. Used for NTK-vector products.
        /// </summary>
        internal abstract ForwardSession OpenSession();

        /// <summary>Bytes per sample of transient memory while computing Jacobians (besides the result).</summary>
        internal virtual long JacobianWorkBytesPerSample => 8L * ParameterCount * sizeof(double);

        /// <summary>Whether per-sample Jacobians are computed for a chunk of samples at once (expanded weights) rather than one sample at a time.</summary>
        internal virtual bool BatchesJacobians => false;

        /// <summary>Structured (closed-form) kernels, when the model has them.</summary>
        internal virtual Kernels.IStructuredKernels? Structured => null;

        /// <inheritdoc />
        public override string ToString() => Name + " (P = " + ParameterCount + ", inputs " + InputDimension + ", outputs " + OutputDimension + ")";
    }

    /// <summary>
    /// Base class for models written as a pure function f(θ, x) in TorchSharp. The parameters are
    /// stored as an immutable float64 vector. Per-sample Jacobians use the expanded-weights trick
    /// when the subclass overrides <see cref="ForwardPerSample"/>, and a loop over samples otherwise.
    /// </summary>
    public abstract class FunctionalModel : NtkModel
    {
        private readonly double[] _theta;

        /// <summary>Creates the model and validates θ (length and finiteness).</summary>
        /// <param name="name">Model name.</param>
        /// <param name="layout">Parameter layout.</param>
        /// <param name="inputDimension">Input width D.</param>
        /// <param name="outputDimension">Number of outputs C.</param>
        /// <param name="parameters">θ, length P (copied).</param>
        /// <exception cref="ShapeMismatchException">θ has the wrong length.</exception>
        /// <exception cref="NonFiniteValueException">θ contains NaN or ±Infinity (the message names the tensor and index).</exception>
        protected FunctionalModel(string name, ParameterLayout layout, int inputDimension, int outputDimension, IReadOnlyList<double> parameters)
            : base(name, layout, inputDimension, outputDimension)
        {
            Check.NotNull(parameters, nameof(parameters));
            if (parameters.Count != layout.Count)
                throw new ShapeMismatchException(nameof(parameters), Check.Inv($"[{layout.Count}]"), Check.Inv($"[{parameters.Count}]"), "θ must have one entry per parameter of the layout.");
            _theta = parameters.ToArray();
            foreach (var t in layout.Tensors)
                for (int i = 0; i < t.Count; i++)
                {
                    double v = _theta[t.Offset + i];
                    if (!double.IsFinite(v)) throw new NonFiniteValueException(nameof(parameters), t.Name + "[" + i + "] (flat index " + (t.Offset + i) + ")", v);
                }
        }

        /// <inheritdoc />
        public sealed override double[] GetParameters() => (double[])_theta.Clone();

        /// <summary>Read-only view of θ.</summary>
        protected ReadOnlySpan<double> Theta => _theta;

        /// <summary>A model of the same architecture at other parameters θ'.</summary>
        /// <param name="parameters">θ', length P.</param>
        /// <returns>A new model; this one is unchanged.</returns>
        public FunctionalModel WithParameters(IReadOnlyList<double> parameters) => Rebuild(Check.NotNull(parameters, nameof(parameters)).ToArray());

        /// <summary>Creates a model of the same architecture at θ' (validated by the constructor).</summary>
        /// <param name="parameters">θ'.</param>
        /// <returns>The new model.</returns>
        protected abstract FunctionalModel Rebuild(double[] parameters);

        /// <summary>The forward pass f(θ, x).</summary>
        /// <param name="x">Inputs (N, D), float64.</param>
        /// <param name="parameters">One float64 tensor per layout entry, with the layout's shapes.</param>
        /// <returns>Outputs (N, C).</returns>
        protected abstract Tensor Forward(Tensor x, IReadOnlyList<Tensor> parameters);

        /// <summary>
        /// The forward pass with per-sample parameters (the expanded-weights trick): every parameter
        /// tensor carries a leading dimension N, and sample n must use only slice n. Return null
        /// (the default) when not supported; the engine then loops over samples.
        /// </summary>
        /// <param name="x">Inputs (N, D).</param>
        /// <param name="parameters">Tensors of shape (N, shape_t...).</param>
        /// <returns>Outputs (N, C), or null.</returns>
        protected virtual Tensor? ForwardPerSample(Tensor x, IReadOnlyList<Tensor> parameters) => null;

        /// <summary>Whether <see cref="ForwardPerSample"/> is implemented.</summary>
        protected virtual bool SupportsPerSampleParameters => false;

        internal override bool BatchesJacobians => SupportsPerSampleParameters;

        internal Tensor[] ParameterTensors()
        {
            var result = new Tensor[Layout.Tensors.Count];
            for (int i = 0; i < result.Length; i++)
            {
                var info = Layout.Tensors[i];
                var data = _theta.AsSpan(info.Offset, info.Count).ToArray();
                result[i] = torch.tensor(data, info.Shape.Select(d => (long)d).ToArray(), ScalarType.Float64);
            }
            return result;
        }

        internal override ForwardSession OpenSession()
        {
            var leaves = ParameterTensors().Select(p => p.requires_grad_(true)).ToArray();
            return new ForwardSession(leaves, x =>
            {
                var y = Forward(x, leaves);
                CheckOutput(y, x.shape[0]);
                return y;
            }, null);
        }

        internal override Tensor EvaluateTensor(Tensor x)
        {
            var y = Forward(x, ParameterTensors());
            CheckOutput(y, x.shape[0]);
            return y;
        }

        private void CheckOutput(Tensor y, long n)
        {
            if (y.dim() != 2 || y.shape[0] != n || y.shape[1] != OutputDimension)
                throw new ModelOutputShapeException(Name, Check.Inv($"[{n}, {OutputDimension}]"), Check.Shape(y.shape));
        }

        internal override Tensor[] JacobianTensors(Tensor x, Tensor outputWeights, int chunkSize, Action<int>? samplesDone)
        {
            long n = x.shape[0];
            long v = outputWeights.shape[0];
            var infos = Layout.Tensors;
            var result = new Tensor[infos.Count];
            for (int t = 0; t < infos.Count; t++) result[t] = torch.zeros(new long[] { n, v, infos[t].Count }, ScalarType.Float64);
            var wt = outputWeights.t();
            using var grad = torch.enable_grad();
            if (SupportsPerSampleParameters)
            {
                var baseParams = ParameterTensors();
                for (long start = 0; start < n; start += chunkSize)
                {
                    using var scope = torch.NewDisposeScope();
                    long nb = Math.Min(chunkSize, n - start);
                    var xb = x.narrow(0, start, nb);
                    var leaves = new Tensor[infos.Count];
                    for (int t = 0; t < infos.Count; t++)
                    {
                        var shape = new long[] { nb }.Concat(infos[t].Shape.Select(d => (long)d)).ToArray();
                        leaves[t] = baseParams[t].unsqueeze(0).expand(shape).clone().requires_grad_(true);
                    }
                    var y = ForwardPerSample(xb, leaves) ?? throw new InvalidOperationException("internal: ForwardPerSample returned null");
                    CheckOutput(y, nb);
                    var yv = y.mm(wt);
                    if (!yv.requires_grad) { samplesDone?.Invoke((int)nb); continue; } // output independent of θ: Jacobian is zero
                    for (long k = 0; k < v; k++)
                    {
                        using var perOutput = torch.NewDisposeScope();   // free this output's gradients before the next
                        var grads = torch.autograd.grad(new[] { yv.select(1, k).sum() }, leaves, retain_graph: k < v - 1, allow_unused: true);
                        for (int t = 0; t < infos.Count; t++)
                        {
                            var g = grads[t];
                            if (g is null || g.IsInvalid) continue;
                            result[t].narrow(0, start, nb).select(1, k).copy_(g.reshape(nb, infos[t].Count));
                        }
                    }
                    samplesDone?.Invoke((int)nb);
                }
            }
            else
            {
                using var session = OpenSession();
                var all = Enumerable.Range(0, infos.Count).ToArray();
                var parts = PerSampleJacobians.Loop(session, x, outputWeights, all, infos.Select(i => (long)i.Count).ToArray(), samplesDone);
                for (int t = 0; t < infos.Count; t++) result[t].copy_(parts[t]);
            }
            return result;
        }
    }

    /// <summary>A differentiable forward pass over leaf parameter tensors (see <see cref="NtkModel.OpenSession"/>).</summary>
    internal sealed class ForwardSession : IDisposable
    {
        private readonly Func<Tensor, Tensor> _forward;
        private readonly Action? _close;

        public ForwardSession(Tensor[] leaves, Func<Tensor, Tensor> forward, Action? close)
        {
            Leaves = leaves;
            _forward = forward;
            _close = close;
        }

        /// <summary>Leaf tensors in layout order (may be float32 for wrapped modules).</summary>
        public Tensor[] Leaves { get; }

        /// <summary>(N, D) float64 → (N, C) float64, differentiable with respect to <see cref="Leaves"/>.</summary>
        public Tensor Forward(Tensor x) => _forward(x);

        public void Dispose() => _close?.Invoke();
    }
}
