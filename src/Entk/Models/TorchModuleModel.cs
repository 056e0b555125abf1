using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Models
{
    /// <summary>
    /// Wraps any TorchSharp module <c>Module&lt;Tensor, Tensor&gt;</c> mapping a batch of inputs to
    /// (N, C) outputs as an <see cref="NtkModel"/>. The layout lists the module's
    /// <c>named_parameters()</c> in the order TorchSharp reports them at wrap time (all parameters,
    /// including those with requires_grad = false). Entk evaluates the module in eval mode and
    /// restores its previous train/eval mode and requires_grad flags afterwards; parameters are never
    /// written. Per-sample Jacobians are computed by a loop over samples (one backward pass per
    /// sample and output). Float32 modules give float32-accurate Jacobians (promoted to float64).
    /// The wrapper holds a reference to the module: do not train the module while Entk uses it.
    /// </summary>
    public sealed class TorchModuleModel : NtkModel
    {
        private readonly nn.Module<Tensor, Tensor> _module;
        private readonly long[] _inputShape;
        private readonly object _gate = new();

        private readonly bool _integerInputs;

        private TorchModuleModel(string name, nn.Module<Tensor, Tensor> module, ParameterLayout layout, int inputDimension, int outputDimension, long[] inputShape, bool integerInputs)
            : base(name, layout, inputDimension, outputDimension)
        {
            _module = module;
            _inputShape = inputShape;
            _integerInputs = integerInputs;
        }

        /// <summary>Whether the module takes integer inputs (token ids): rows are converted to int64 instead of the parameter dtype.</summary>
        public bool IntegerInputs => _integerInputs;

        /// <summary>Wraps a module.</summary>
        /// <param name="module">The module; its forward takes (N, inputShape...) and returns (N, C).</param>
        /// <param name="inputDimension">Width of one flattened input row.</param>
        /// <param name="outputDimension">Number of outputs C.</param>
        /// <param name="inputShape">Optional per-sample shape the flattened row is reshaped to (product = inputDimension), e.g. [1, 28, 28]; default [inputDimension].</param>
        /// <param name="name">Optional model name (default: the module's type name).</param>
        /// <param name="integerInputs">True when the module's forward takes int64 inputs (token ids, e.g. an nn.Embedding first):
        /// input values must then be integers and are converted to int64 (default false: converted to the parameters' dtype).</param>
        /// <returns>The wrapper.</returns>
        /// <exception cref="EntkArgumentException">No parameters, or an inputShape whose product differs from inputDimension.</exception>
        /// <exception cref="NonFiniteValueException">A parameter is NaN or ±Infinity.</exception>
        public static TorchModuleModel Wrap(nn.Module<Tensor, Tensor> module, int inputDimension, int outputDimension, IReadOnlyList<int>? inputShape = null, string? name = null, bool integerInputs = false)
        {
            Check.NotNull(module, nameof(module));
            Check.Positive(inputDimension, nameof(inputDimension));
            Check.Positive(outputDimension, nameof(outputDimension));
            long[] shape = inputShape is null ? new long[] { inputDimension } : inputShape.Select(d => (long)d).ToArray();
            long prod = 1;
            foreach (var d in shape) prod *= d;
            if (prod != inputDimension)
                throw new ShapeMismatchException(nameof(inputShape), Check.Inv($"a shape with {inputDimension} elements"), Check.Shape(shape));
            var named = module.named_parameters().ToArray();
            if (named.Length == 0) throw new EntkArgumentException(nameof(module), "a module with at least one parameter", "a module without parameters");
            var names = new List<string>();
            var shapes = new List<IReadOnlyList<int>>();
            foreach (var (pname, p) in named)
            {
                names.Add(pname);
                shapes.Add(p.shape.Select(d => (int)d).ToArray());
                using var flat = p.detach().to(ScalarType.Float64).reshape(-1);
                var data = flat.data<double>().ToArray();
                for (int i = 0; i < data.Length; i++)
                    if (!double.IsFinite(data[i])) throw new NonFiniteValueException(nameof(module), pname + "[" + i + "]", data[i]);
            }
            var layout = new ParameterLayout(names, shapes);
            return new TorchModuleModel(name ?? module.GetType().Name, module, layout, inputDimension, outputDimension, shape, integerInputs);
        }

        /// <inheritdoc />
        public override double[] GetParameters()
        {
            var result = new double[ParameterCount];
            var named = _module.named_parameters().ToArray();
            CheckLayoutUnchanged(named);
            for (int t = 0; t < named.Length; t++)
            {
                using var flat = named[t].parameter.detach().to(ScalarType.Float64).reshape(-1).contiguous();
                flat.data<double>().CopyTo(result, Layout.Tensors[t].Offset);
            }
            return result;
        }

        private void CheckLayoutUnchanged((string name, TorchSharp.Modules.Parameter parameter)[] named)
        {
            if (named.Length != Layout.Tensors.Count || named.Where((p, i) => p.name != Layout.Tensors[i].Name || p.parameter.numel() != Layout.Tensors[i].Count).Any())
                throw new InvalidOperationException("The wrapped module's parameters changed since it was wrapped; wrap it again.");
        }

        private Tensor Reshape(Tensor x) => x.reshape(new long[] { x.shape[0] }.Concat(_inputShape).ToArray());

        /// <summary>The module's input from float64 rows: reshaped, converted to int64 (integer inputs, checked) or to the parameters' dtype.</summary>
        private Tensor Prepare(Tensor x, ScalarType dtype)
        {
            if (!_integerInputs) return Reshape(x.to(dtype));
            if (!x.eq(x.round()).all().item<bool>())
                throw new EntkArgumentException("x", "integer values (the module takes token ids)", "non-integer values", "Model '" + Name + "' was wrapped with integerInputs: true.");
            return Reshape(x.to(ScalarType.Int64));
        }

        private T WithEvalMode<T>(Func<TorchSharp.Modules.Parameter[], T> body)
        {
            lock (_gate)
            {
                bool wasTraining = _module.training;
                var named = _module.named_parameters().ToArray();
                CheckLayoutUnchanged(named);
                var ps = named.Select(p => p.parameter).ToArray();
                var flags = ps.Select(p => p.requires_grad).ToArray();
                try
                {
                    _module.eval();
                    return body(ps);
                }
                finally
                {
                    for (int i = 0; i < ps.Length; i++)
                        if (ps[i].requires_grad != flags[i]) ps[i].requires_grad_(flags[i]);
                    _module.train(wasTraining);
                }
            }
        }

        internal override ForwardSession OpenSession()
        {
            System.Threading.Monitor.Enter(_gate);
            bool wasTraining = _module.training;
            var named = _module.named_parameters().ToArray();
            CheckLayoutUnchanged(named);
            var ps = named.Select(p => p.parameter).ToArray();
            var flags = ps.Select(p => p.requires_grad).ToArray();
            _module.eval();
            foreach (var p in ps) if (!p.requires_grad) p.requires_grad_(true);
            var dtype = ParameterType(ps);
            return new ForwardSession(ps.Select(p => (Tensor)p).ToArray(), x =>
            {
                var y = _module.forward(Prepare(x, dtype)).to(ScalarType.Float64);
                if (y.numel() != x.shape[0] * OutputDimension)
                    throw new ModelOutputShapeException(Name, Check.Inv($"[{x.shape[0]}, {OutputDimension}]"), Check.Shape(y.shape));
                return y.reshape(x.shape[0], OutputDimension);
            }, () =>
            {
                for (int i = 0; i < ps.Length; i++)
                    if (ps[i].requires_grad != flags[i]) ps[i].requires_grad_(flags[i]);
                _module.train(wasTraining);
                System.Threading.Monitor.Exit(_gate);
            });
        }

        private ScalarType ParameterType(TorchSharp.Modules.Parameter[] ps) => ps[0].dtype;

        internal override Tensor EvaluateTensor(Tensor x) => WithEvalMode(ps =>
        {
            var y = _module.forward(Prepare(x, ParameterType(ps))).to(ScalarType.Float64);
            if (y.numel() != x.shape[0] * OutputDimension)
                throw new ModelOutputShapeException(Name, Check.Inv($"[{x.shape[0]}, {OutputDimension}]"), Check.Shape(y.shape));
            return y.reshape(x.shape[0], OutputDimension);
        });

        internal override Tensor[] JacobianTensors(Tensor x, Tensor outputWeights, int chunkSize, Action<int>? samplesDone)
        {
            using var session = OpenSession();
            var infos = Layout.Tensors;
            return PerSampleJacobians.Loop(session, x, outputWeights, Enumerable.Range(0, infos.Count).ToArray(), infos.Select(i => (long)i.Count).ToArray(), samplesDone);
        }

        /// <summary>The wrapped module (for the layer-rule engine's hooks; never modified).</summary>
        internal nn.Module<Tensor, Tensor> Module => _module;
    }
}
