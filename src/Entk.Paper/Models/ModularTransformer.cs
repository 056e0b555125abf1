using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Entk.Internal;
using Entk.IO;
using Entk.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Entk.Models
{
    /// <summary>
    /// The sizes of the one-layer modular-addition Transformer (docs/paper-notes.md §2.3.1). Defaults are the paper's:
    /// p = 29, d_model = 64, 4 heads (d_head = 16), d_mlp = 256. The vocabulary is p + 1 (tokens 0..p−1 and "=" = p),
    /// the sequence is (a, b, "=").
    /// </summary>
    public sealed record TransformerArchitecture
    {
        /// <summary>The modulus p (default 29).</summary>
        public int Modulus { get; init; } = 29;

        /// <summary>d_model, the width of the residual stream (default 64).</summary>
        public int ModelWidth { get; init; } = 64;

        /// <summary>Number of attention heads (default 4); must divide <see cref="ModelWidth"/>.</summary>
        public int Heads { get; init; } = 4;

        /// <summary>d_mlp, the hidden width of the MLP (default 256).</summary>
        public int MlpWidth { get; init; } = 256;

        /// <summary>d_head = d_model / heads.</summary>
        public int HeadWidth => ModelWidth / Heads;

        /// <summary>Vocabulary size p + 1 (= the number of logits C).</summary>
        public int Vocabulary => Modulus + 1;

        /// <summary>Sequence length (3: a, b, "=").</summary>
        public int SequenceLength => 3;

        /// <summary>Validates the sizes (typed errors naming the setting).</summary>
        /// <exception cref="EntkArgumentException">A size out of range, or heads not dividing d_model.</exception>
        public void Validate()
        {
            Check.InRange(Modulus, 3, 4096, nameof(Modulus));
            Check.InRange(ModelWidth, 1, 1 << 14, nameof(ModelWidth));
            Check.InRange(Heads, 1, ModelWidth, nameof(Heads));
            Check.InRange(MlpWidth, 1, 1 << 16, nameof(MlpWidth));
            if (ModelWidth % Heads != 0)
                throw new EntkArgumentException(nameof(Heads), Check.Inv($"a number of heads dividing d_model = {ModelWidth}"), Heads.ToString(CultureInfo.InvariantCulture));
        }

        /// <summary>The shape of each exported weight, by name (paper conventions, see <see cref="TransformerWeights"/>).</summary>
        /// <param name="name">One of <see cref="TransformerWeights.Names"/>.</param>
        /// <returns>The shape.</returns>
        /// <exception cref="EntkArgumentException">Unknown name.</exception>
        public IReadOnlyList<int> ShapeOf(string name) => name switch
        {
            "W_E" => new[] { Vocabulary, ModelWidth },
            "W_pos" => new[] { SequenceLength, ModelWidth },
            "W_Q" or "W_K" or "W_V" => new[] { Heads, HeadWidth, ModelWidth },
            "W_O" => new[] { ModelWidth, ModelWidth },
            "W_in" => new[] { ModelWidth, MlpWidth },
            "W_out" => new[] { MlpWidth, ModelWidth },
            "W_U" => new[] { ModelWidth, Vocabulary },
            _ => throw new EntkArgumentException(nameof(name), "one of " + string.Join(", ", TransformerWeights.Names), "'" + name + "'"),
        };

        /// <summary>Total number of parameters P (53,184 for the defaults).</summary>
        public int ParameterCount => TransformerWeights.Names.Sum(n => ShapeOf(n).Aggregate(1, (a, b) => a * b));
    }

    /// <summary>
    /// The nine weight tensors of the modular-addition Transformer in the paper's conventions (float64, immutable):
    /// <c>W_E</c> [p+1, d_model], <c>W_pos</c> [3, d_model], <c>W_Q</c>, <c>W_K</c>, <c>W_V</c> [heads, d_head, d_model],
    /// <c>W_O</c> [d_model, d_model] (rows = d_model, columns = heads concatenated head-major h·d_head + i),
    /// <c>W_in</c> [d_model, d_mlp], <c>W_out</c> [d_mlp, d_model], <c>W_U</c> [d_model, p+1]. The forward pass is
    /// x0_t = W_E[tok_t] + W_pos[t]; q_t = W_Q[h]·x0_t (likewise k, v); z_t[h] = Σ_{s≤t} softmax_s(q_t·k_s/√d_head) v_s;
    /// x1_t = x0_t + W_O·z_t; x2_t = x1_t + ReLU(x1_t·W_in)·W_out; logits = x2_2·W_U (read at "=", p+1 of them).
    /// </summary>
    public sealed class TransformerWeights
    {
        private static readonly string[] _names = { "W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U" };
        private readonly Dictionary<string, double[]> _data;

        private TransformerWeights(TransformerArchitecture architecture, Dictionary<string, double[]> data)
        {
            Architecture = architecture;
            _data = data;
        }

        /// <summary>The weight names in the paper's order: W_E, W_pos, W_Q, W_K, W_V, W_O, W_in, W_out, W_U.</summary>
        public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(_names);

        /// <summary>The sizes.</summary>
        public TransformerArchitecture Architecture { get; }

        /// <summary>A copy of one weight as an array of its shape (<see cref="TransformerArchitecture.ShapeOf"/>).</summary>
        /// <param name="name">One of <see cref="Names"/>.</param>
        /// <returns>New float64 array.</returns>
        /// <exception cref="EntkArgumentException">Unknown name.</exception>
        public NdArray this[string name] => NdArray.FromDoubles((double[])Raw(name).Clone(), Architecture.ShapeOf(name).ToArray());

        internal double[] Raw(string name) =>
            _data.TryGetValue(Check.NotNull(name, nameof(name)), out var d) ? d : throw new EntkArgumentException(nameof(name), "one of " + string.Join(", ", _names), "'" + name + "'");

        /// <summary>All nine weights as named arrays, in the order of <see cref="Names"/> (copies).</summary>
        /// <returns>The arrays.</returns>
        public IReadOnlyList<NamedArray> ToNamedArrays() => _names.Select(n => new NamedArray(n, this[n])).ToArray();

        /// <summary>Builds weights from arrays of the stated shapes (float32 arrays are promoted; extra entries are ignored).</summary>
        /// <param name="architecture">The sizes.</param>
        /// <param name="arrays">One array per name in <see cref="Names"/>.</param>
        /// <returns>The weights (copies of the data).</returns>
        /// <exception cref="EntkArgumentException">A missing array.</exception>
        /// <exception cref="ShapeMismatchException">An array of the wrong shape.</exception>
        /// <exception cref="NonFiniteValueException">A NaN or infinite entry.</exception>
        public static TransformerWeights FromArrays(TransformerArchitecture architecture, IReadOnlyDictionary<string, NdArray> arrays)
        {
            Check.NotNull(architecture, nameof(architecture));
            Check.NotNull(arrays, nameof(arrays));
            architecture.Validate();
            var data = new Dictionary<string, double[]>(StringComparer.Ordinal);
            foreach (var n in _names)
            {
                if (!arrays.TryGetValue(n, out var a) || a is null)
                    throw new EntkArgumentException(nameof(arrays), "arrays named " + string.Join(", ", _names), "no array '" + n + "'");
                var shape = architecture.ShapeOf(n);
                if (!a.Shape.SequenceEqual(shape))
                    throw new ShapeMismatchException(nameof(arrays) + "[" + n + "]", Check.Shape(shape), Check.Shape(a.Shape));
                var d = a.ToDoubleArray();
                for (int i = 0; i < d.Length; i++)
                    if (!double.IsFinite(d[i])) throw new NonFiniteValueException(nameof(arrays), n + "[" + i + "]", d[i]);
                data[n] = d;
            }
            return new TransformerWeights(architecture, data);
        }

        /// <summary>
        /// Reads weights from a checkpoint or .npz holding the nine arrays (e.g. a <c>weights.npz</c> written by
        /// <c>entk transformer</c>); the sizes are inferred from the shapes of W_E, W_Q and W_in.
        /// </summary>
        /// <param name="data">Checkpoint content.</param>
        /// <returns>The weights.</returns>
        /// <exception cref="EntkArgumentException">Missing arrays or inconsistent shapes.</exception>
        public static TransformerWeights FromCheckpoint(CheckpointData data)
        {
            Check.NotNull(data, nameof(data));
            var arrays = new Dictionary<string, NdArray>(StringComparer.Ordinal);
            foreach (var t in data.Tensors) arrays[t.Name] = t.Array;
            foreach (var n in new[] { "W_E", "W_Q", "W_in" })
                if (!arrays.ContainsKey(n)) throw new EntkArgumentException(nameof(data), "a checkpoint with arrays " + string.Join(", ", _names), "no array '" + n + "'");
            var e = arrays["W_E"].Shape;
            var q = arrays["W_Q"].Shape;
            var win = arrays["W_in"].Shape;
            if (e.Count != 2 || q.Count != 3 || win.Count != 2)
                throw new ShapeMismatchException(nameof(data), "W_E [p+1, d], W_Q [heads, d_head, d], W_in [d, d_mlp]", Check.Inv($"W_E {Check.Shape(e)}, W_Q {Check.Shape(q)}, W_in {Check.Shape(win)}"));
            var arch = new TransformerArchitecture { Modulus = e[0] - 1, ModelWidth = e[1], Heads = q[0], MlpWidth = win[1] };
            return FromArrays(arch, arrays);
        }

        /// <summary>The checkpoint of these weights (kind "modular-transformer"; sizes as hyperparameters).</summary>
        /// <param name="info">Optional free-form info (seed, epoch, accuracies).</param>
        /// <returns>Checkpoint content with the nine arrays in the order of <see cref="Names"/>.</returns>
        public CheckpointData ToCheckpoint(IReadOnlyDictionary<string, MetadataValue>? info = null)
        {
            var hyper = new Dictionary<string, MetadataValue>
            {
                ["modulus"] = MetadataValue.FromInt64(Architecture.Modulus),
                ["d_model"] = MetadataValue.FromInt64(Architecture.ModelWidth),
                ["heads"] = MetadataValue.FromInt64(Architecture.Heads),
                ["d_mlp"] = MetadataValue.FromInt64(Architecture.MlpWidth),
            };
            return new CheckpointData(ModularTransformer.CheckpointKind, ToNamedArrays(), hyper, info);
        }

        /// <summary>A fresh float64 TorchSharp module holding these weights.</summary>
        /// <returns>The module (owned by the caller; dispose it when done).</returns>
        public ModularTransformer CreateModule() => ModularTransformer.Create(this);

        /// <summary>All weights flattened into one vector, in the order of <see cref="Names"/> (each row-major).</summary>
        /// <returns>New array of length P.</returns>
        public double[] Flatten() => _names.SelectMany(n => _data[n]).ToArray();
    }

    /// <summary>
    /// The paper's one-layer Transformer for modular addition (docs/paper-notes.md §2.3.1) as an ordinary float64
    /// TorchSharp module built from standard layers, so that any Entk route for modules applies to it
    /// (<see cref="TorchModuleModel.Wrap"/>). Parameters, in registration order, and the paper's weight each holds:
    /// <c>embed.weight</c> (nn.Embedding(p+1, d_model)) = W_E; <c>pos_embed.W_pos</c> (a Parameter) = W_pos;
    /// <c>attn.W_Q.weight</c>, <c>attn.W_K.weight</c>, <c>attn.W_V.weight</c> (nn.Linear(d_model, d_model, no bias); row
    /// h·d_head + i) = W_Q, W_K, W_V reshaped to [heads·d_head, d_model]; <c>attn.W_O.weight</c> (Linear, no bias) = W_O;
    /// <c>mlp.W_in.weight</c> (Linear d_model → d_mlp) = W_inᵀ; <c>mlp.W_out.weight</c> (Linear d_mlp → d_model) = W_outᵀ;
    /// <c>unembed.weight</c> (Linear d_model → p+1) = W_Uᵀ. No biases, no LayerNorm.
    /// </summary>
    /// <remarks>
    /// <see cref="forward"/> takes a float64 (N, 3) tensor of token indices (a, b, "=" = p; integral values in [0, p])
    /// and returns the (N, p+1) logits at the last position. Only what reaches those logits is evaluated: the query and
    /// the MLP at position 2 (the causal mask only restricts positions 0 and 1, whose outputs never reach the logits),
    /// keys and values at all three positions. This is the same function as the full causal forward pass (tested
    /// against it), at a third of the MLP's cost. Parameter gradients are those of the full model.
    /// </remarks>
    public sealed class ModularTransformer : nn.Module<Tensor, Tensor>
    {
        /// <summary>The checkpoint kind of Transformer weights.</summary>
        public const string CheckpointKind = "modular-transformer";

        private static readonly (string Spec, string Module)[] _parameterNames =
        {
            ("W_E", "embed.weight"), ("W_pos", "pos_embed.W_pos"), ("W_Q", "attn.W_Q.weight"), ("W_K", "attn.W_K.weight"),
            ("W_V", "attn.W_V.weight"), ("W_O", "attn.W_O.weight"), ("W_in", "mlp.W_in.weight"), ("W_out", "mlp.W_out.weight"),
            ("W_U", "unembed.weight"),
        };

        private readonly Embedding _embed;
        private readonly Parameter _pos;
        private readonly Linear _q, _k, _v, _o, _in, _out, _unembed;
        // Scalars held as fields: TorchSharp's operators create a temporary Scalar (e.g. alpha = 1 for a + b) that the GC
        // may finalise while the native call still reads it ("Scalar::toDouble: Expected false to be true").
        private readonly Scalar _scale;
        private readonly Scalar _one = 1.0.ToScalar();

        private ModularTransformer(TransformerArchitecture a) : base("ModularTransformer")
        {
            Architecture = a;
            var f64 = ScalarType.Float64;
            // TorchSharp's layer constructors initialise their weights from the global generator; every weight is
            // overwritten (SetWeights), so the global generator's state is restored to leave it untouched.
            using var globalState = torch.random.get_rng_state();
            _embed = nn.Embedding(a.Vocabulary, a.ModelWidth, dtype: f64);
            _pos = new Parameter(torch.zeros(new long[] { a.SequenceLength, a.ModelWidth }, f64));
            _q = nn.Linear(a.ModelWidth, a.ModelWidth, hasBias: false, dtype: f64);
            _k = nn.Linear(a.ModelWidth, a.ModelWidth, hasBias: false, dtype: f64);
            _v = nn.Linear(a.ModelWidth, a.ModelWidth, hasBias: false, dtype: f64);
            _o = nn.Linear(a.ModelWidth, a.ModelWidth, hasBias: false, dtype: f64);
            _in = nn.Linear(a.ModelWidth, a.MlpWidth, hasBias: false, dtype: f64);
            _out = nn.Linear(a.MlpWidth, a.ModelWidth, hasBias: false, dtype: f64);
            _unembed = nn.Linear(a.ModelWidth, a.Vocabulary, hasBias: false, dtype: f64);
            torch.random.set_rng_state(globalState);
            _scale = (1.0 / Math.Sqrt(a.HeadWidth)).ToScalar();
            // Explicit registration in the paper's order (reflection over fields has no guaranteed order).
            register_module("embed", _embed);
            register_module("pos_embed", nn.ParameterDict(("W_pos", _pos)));
            register_module("attn", nn.ModuleDict<nn.Module>(("W_Q", _q), ("W_K", _k), ("W_V", _v), ("W_O", _o)));
            register_module("mlp", nn.ModuleDict<nn.Module>(("W_in", _in), ("W_out", _out)));
            register_module("unembed", _unembed);
        }

        /// <summary>The sizes.</summary>
        public TransformerArchitecture Architecture { get; }

        /// <inheritdoc />
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _scale.Dispose();
                _one.Dispose();
            }
            base.Dispose(disposing);
        }

        /// <summary>The module parameter that holds a paper weight, e.g. "W_in" → "mlp.W_in.weight".</summary>
        /// <param name="weight">One of <see cref="TransformerWeights.Names"/>.</param>
        /// <returns>The parameter name in <c>named_parameters()</c>.</returns>
        /// <exception cref="EntkArgumentException">Unknown name.</exception>
        public static string ParameterName(string weight)
        {
            foreach (var (s, m) in _parameterNames) if (s == weight) return m;
            throw new EntkArgumentException(nameof(weight), "one of " + string.Join(", ", TransformerWeights.Names), "'" + weight + "'");
        }

        /// <summary>A module holding the given weights.</summary>
        /// <param name="weights">The weights.</param>
        /// <returns>The module.</returns>
        public static ModularTransformer Create(TransformerWeights weights)
        {
            Check.NotNull(weights, nameof(weights));
            var m = new ModularTransformer(weights.Architecture);
            m.SetWeights(weights);
            return m;
        }

        /// <summary>Overwrites the parameters with the given weights (same sizes).</summary>
        /// <param name="weights">The weights.</param>
        /// <exception cref="EntkArgumentException">Different sizes.</exception>
        public void SetWeights(TransformerWeights weights)
        {
            Check.NotNull(weights, nameof(weights));
            if (weights.Architecture != Architecture)
                throw new EntkArgumentException(nameof(weights), "weights of the module's sizes " + Architecture, weights.Architecture.ToString());
            var a = Architecture;
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            Tensor T(string n) => TorchOps.ToTensor(weights.Raw(n), a.ShapeOf(n).Select(d => (long)d).ToArray());
            _embed.weight!.copy_(T("W_E"));
            _pos.copy_(T("W_pos"));
            _q.weight!.copy_(T("W_Q").reshape(a.ModelWidth, a.ModelWidth));
            _k.weight!.copy_(T("W_K").reshape(a.ModelWidth, a.ModelWidth));
            _v.weight!.copy_(T("W_V").reshape(a.ModelWidth, a.ModelWidth));
            _o.weight!.copy_(T("W_O"));
            _in.weight!.copy_(T("W_in").t());
            _out.weight!.copy_(T("W_out").t());
            _unembed.weight!.copy_(T("W_U").t());
        }

        /// <summary>A copy of the current parameters in the paper's conventions.</summary>
        /// <returns>The weights.</returns>
        public TransformerWeights GetWeights()
        {
            var a = Architecture;
            using var scope = torch.NewDisposeScope();
            NdArray A(Tensor t, string n) => NdArray.FromDoubles(TorchOps.ToArray(t.detach().contiguous()), a.ShapeOf(n).ToArray());
            var d = new Dictionary<string, NdArray>(StringComparer.Ordinal)
            {
                ["W_E"] = A(_embed.weight!, "W_E"),
                ["W_pos"] = A(_pos, "W_pos"),
                ["W_Q"] = A(_q.weight!, "W_Q"),
                ["W_K"] = A(_k.weight!, "W_K"),
                ["W_V"] = A(_v.weight!, "W_V"),
                ["W_O"] = A(_o.weight!, "W_O"),
                ["W_in"] = A(_in.weight!.t(), "W_in"),
                ["W_out"] = A(_out.weight!.t(), "W_out"),
                ["W_U"] = A(_unembed.weight!.t(), "W_U"),
            };
            return TransformerWeights.FromArrays(a, d);
        }

        /// <summary>The parameters in registration order (for optimisers).</summary>
        internal Parameter[] ParameterList() => new[] { _embed.weight!, _pos, _q.weight!, _k.weight!, _v.weight!, _o.weight!, _in.weight!, _out.weight!, _unembed.weight! };

        /// <summary>
        /// Logits (N, p+1) at the "=" position for a float64 (N, 3) tensor of token indices (integral, in [0, p]).
        /// </summary>
        /// <param name="x">Tokens (a, b, "=") as float64, shape (N, 3).</param>
        /// <returns>Logits, float64 (N, p+1).</returns>
        /// <exception cref="ShapeMismatchException">x is not (N, 3).</exception>
        /// <exception cref="EntkArgumentException">A token that is not an integer in [0, p].</exception>
        public override Tensor forward(Tensor x)
        {
            Check.NotNull(x, nameof(x));
            if (x.dim() != 2 || x.shape[1] != Architecture.SequenceLength)
                throw new ShapeMismatchException(nameof(x), "[N, 3] token indices (a, b, \"=\")", Check.Shape(x.shape));
            using (torch.no_grad())
            {
                if (x.numel() > 0)
                {
                    double lo = x.min().item<double>(), hi = x.max().item<double>();
                    bool integral = x.eq(x.round()).all().item<bool>();
                    if (!integral || lo < 0 || hi > Architecture.Modulus)
                        throw new EntkArgumentException(nameof(x), Check.Inv($"integral token indices in [0, {Architecture.Modulus}]"), Check.Inv($"values in [{lo}, {hi}]{(integral ? "" : ", not all integral")}"));
                }
            }
            return Logits(x.to(ScalarType.Int64));
        }

        /// <summary>Logits for int64 tokens (N, 3), without checks (training path).</summary>
        internal Tensor Logits(Tensor tokens)
        {
            var a = Architecture;
            long n = tokens.shape[0];
            int h = a.Heads, dh = a.HeadWidth, d = a.ModelWidth;
            var x0 = _embed.forward(tokens).add(_pos, _one);                          // (N, 3, d)
            var last = x0.select(1, 2);                                                // (N, d): the "=" position
            var q = _q.forward(last).view(n, h, 1, dh);                                // (N, H, 1, dh)
            var k = _k.forward(x0).view(n, 3, h, dh).permute(0, 2, 3, 1);              // (N, H, dh, 3)
            var v = _v.forward(x0).view(n, 3, h, dh).transpose(1, 2);                  // (N, H, 3, dh)
            var attn = torch.nn.functional.softmax(q.matmul(k).mul(_scale), -1);      // (N, H, 1, 3): "=" attends to all ≤ 2
            var z = attn.matmul(v).reshape(n, d);                                      // heads concatenated head-major
            var x1 = last.add(_o.forward(z), _one);
            var x2 = x1.add(_out.forward(torch.nn.functional.relu(_in.forward(x1))), _one);
            return _unembed.forward(x2);                                               // (N, p+1)
        }

        /// <summary>All p² inputs (a, b, p) as float64 rows, row a·p + b.</summary>
        /// <param name="p">Modulus.</param>
        /// <returns>p² × 3 matrix.</returns>
        public static Matrix AllInputs(int p)
        {
            Check.InRange(p, 2, 4096, nameof(p));
            var d = new double[3L * p * p];
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++)
                {
                    long r = 3L * (a * p + b);
                    d[r] = a;
                    d[r + 1] = b;
                    d[r + 2] = p;
                }
            return Matrix.FromArray(p * p, 3, d);
        }

        /// <summary>The labels (a + b) mod p of all p² inputs, row a·p + b.</summary>
        /// <param name="p">Modulus.</param>
        /// <returns>New array of length p².</returns>
        public static int[] AllLabels(int p)
        {
            Check.InRange(p, 2, 4096, nameof(p));
            var y = new int[p * p];
            for (int a = 0; a < p; a++)
                for (int b = 0; b < p; b++) y[a * p + b] = (a + b) % p;
            return y;
        }
    }
}
