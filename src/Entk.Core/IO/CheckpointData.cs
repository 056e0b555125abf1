using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;
using System.Security.Cryptography;
using System.Runtime.InteropServices;
using Entk.Internal;

namespace Entk.IO
{
    /// <summary>
    /// The content of a model checkpoint, independent of any model class: a model kind, its
    /// hyperparameters, the float64 parameter tensors in layout order, and free-form info (epoch,
    /// seed, loss, ...). Immutable. Models map to and from it elsewhere; <see cref="Checkpoint"/>
    /// stores it as an <c>.npz</c> that numpy and PyTorch users read without Entk.
    /// </summary>
    /// <example>
    /// C#:
    /// <code>
    /// var data = new CheckpointData("dense-network",
    ///     new[] { new NamedArray("W", NdArray.FromMatrix(w)), new NamedArray("b", NdArray.FromVector(b)) },
    ///     new Dictionary&lt;string, MetadataValue&gt; { ["activation"] = "tanh", ["lr"] = 1e-3 },
    ///     new Dictionary&lt;string, MetadataValue&gt; { ["epoch"] = 100L, ["loss"] = 0.0123 });
    /// Checkpoint.Save("model.npz", data);
    /// </code>
    /// </example>
    public sealed class CheckpointData
    {
        /// <summary>The <see cref="Kind"/> of checkpoints read from a plain <c>.npz</c> without Entk metadata.</summary>
        public const string UnknownKind = "unknown";

        /// <summary>The reserved entry name of the metadata array.</summary>
        public const string MetadataEntryName = "__entk__";

        private readonly NamedArray[] _tensors;
        private readonly Dictionary<string, NdArray> _byName;

        /// <summary>Creates checkpoint content.</summary>
        /// <param name="kind">Model kind, e.g. "dense-network" or "tms" (non-empty).</param>
        /// <param name="tensors">Parameter tensors in layout order: unique valid names (not "__entk__"), float64 arrays.</param>
        /// <param name="hyperparameters">Hyperparameters (name → string or number), or null for none. Enumeration order is kept.</param>
        /// <param name="info">Free-form info such as epoch, seed or loss, or null for none. Enumeration order is kept.</param>
        /// <exception cref="EntkArgumentException">An empty kind, an invalid or repeated tensor name, a tensor that is not float64, or an empty metadata key.</exception>
        public CheckpointData(string kind, IReadOnlyList<NamedArray> tensors,
                              IReadOnlyDictionary<string, MetadataValue>? hyperparameters = null,
                              IReadOnlyDictionary<string, MetadataValue>? info = null)
            : this(kind, tensors, hyperparameters, info, hasMetadata: true)
        {
        }

        internal CheckpointData(string kind, IReadOnlyList<NamedArray> tensors,
                                IReadOnlyDictionary<string, MetadataValue>? hyperparameters,
                                IReadOnlyDictionary<string, MetadataValue>? info, bool hasMetadata)
        {
            Check.NotNull(kind, nameof(kind));
            if (kind.Trim().Length == 0) throw new EntkArgumentException(nameof(kind), "a non-empty model kind", "'" + kind + "'");
            Check.NotNull(tensors, nameof(tensors));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            _tensors = new NamedArray[tensors.Count];
            for (int i = 0; i < tensors.Count; i++)
            {
                var t = tensors[i] ?? throw new EntkArgumentException(nameof(tensors), "non-null tensors", Check.Inv($"null at index {i}"));
                string? problem = Npz.NameProblem(t.Name);
                if (problem != null) throw new EntkArgumentException(nameof(tensors), "valid tensor names (see Npz.ValidateName)", "'" + t.Name + "' (" + problem + ")");
                if (t.Name == MetadataEntryName) throw new EntkArgumentException(nameof(tensors), "tensor names other than the reserved '" + MetadataEntryName + "'", "'" + t.Name + "'");
                if (!seen.Add(t.Name)) throw new EntkArgumentException(nameof(tensors), "unique tensor names", "'" + t.Name + "' twice");
                if (t.Array.ElementType != ElementType.Float64)
                    throw new EntkArgumentException(nameof(tensors), "float64 tensors", "tensor '" + t.Name + "' of type " + NdArray.NumpyName(t.Array.ElementType),
                        "Convert with NdArray.FromDoubles(array.ToDoubleArray(), shape).");
                _tensors[i] = t;
            }
            _byName = _tensors.ToDictionary(t => t.Name, t => t.Array, StringComparer.Ordinal);
            Kind = kind;
            Tensors = Array.AsReadOnly(_tensors);
            TensorNames = Array.AsReadOnly(_tensors.Select(t => t.Name).ToArray());
            Hyperparameters = Freeze(hyperparameters, nameof(hyperparameters));
            Info = Freeze(info, nameof(info));
            HasMetadata = hasMetadata;
        }

        private static IReadOnlyDictionary<string, MetadataValue> Freeze(IReadOnlyDictionary<string, MetadataValue>? d, string paramName)
        {
            var o = new OrderedDictionary<string, MetadataValue>(StringComparer.Ordinal);
            if (d != null)
            {
                foreach (var kv in d)
                {
                    if (string.IsNullOrEmpty(kv.Key)) throw new EntkArgumentException(paramName, "non-empty keys", "an empty key");
                    o.Add(kv.Key, kv.Value ?? throw new EntkArgumentException(paramName, "a value for every key", "null for '" + kv.Key + "'"));
                }
            }
            return new ReadOnlyDictionary<string, MetadataValue>(o);
        }

        /// <summary>Model kind (<see cref="UnknownKind"/> for a plain <c>.npz</c>).</summary>
        public string Kind { get; }

        /// <summary>Hyperparameters, in the order given (empty for a plain <c>.npz</c>).</summary>
        public IReadOnlyDictionary<string, MetadataValue> Hyperparameters { get; }

        /// <summary>Parameter tensors in layout order.</summary>
        public IReadOnlyList<NamedArray> Tensors { get; }

        /// <summary>Tensor names in layout order.</summary>
        public IReadOnlyList<string> TensorNames { get; }

        /// <summary>Free-form info (epoch, seed, loss, ...), in the order given.</summary>
        public IReadOnlyDictionary<string, MetadataValue> Info { get; }

        /// <summary>
        /// True for content created in code or loaded from an Entk checkpoint (with its metadata
        /// entry and verified checksum); false when loaded from a plain <c>.npz</c>.
        /// </summary>
        public bool HasMetadata { get; }

        /// <summary>Total number of parameters (sum of the tensors' element counts).</summary>
        public long ParameterCount => _tensors.Sum(t => (long)t.Array.ElementCount);

        /// <summary>Whether a tensor of this name exists.</summary>
        /// <param name="name">Tensor name.</param>
        /// <returns>True when present.</returns>
        public bool ContainsTensor(string name) => name != null && _byName.ContainsKey(name);

        /// <summary>The tensor of this name.</summary>
        /// <param name="name">Tensor name.</param>
        /// <returns>The tensor.</returns>
        /// <exception cref="EntkArgumentException">No tensor has this name; the message lists the names present.</exception>
        public NdArray Tensor(string name)
        {
            Check.NotNull(name, nameof(name));
            if (_byName.TryGetValue(name, out var a)) return a;
            throw new EntkArgumentException(nameof(name), "one of the tensor names " + (TensorNames.Count == 0 ? "(none)" : string.Join(", ", TensorNames.Select(n => "'" + n + "'"))), "'" + name + "'");
        }

        /// <summary>The flat parameter vector θ: every tensor flattened in C order, concatenated in layout order.</summary>
        /// <returns>New array of length <see cref="ParameterCount"/>.</returns>
        public double[] ToParameterVector()
        {
            var theta = new double[checked((int)ParameterCount)];
            int o = 0;
            foreach (var t in _tensors)
            {
                var d = (double[])t.Array.RawData;
                Array.Copy(d, 0, theta, o, d.Length);
                o += d.Length;
            }
            return theta;
        }

        /// <summary>
        /// The SHA-256 (lowercase hex) of the parameter bytes: every tensor as little-endian float64
        /// in C order, concatenated in layout order. numpy:
        /// <c>hashlib.sha256(b''.join(np.ascontiguousarray(z[n], '&lt;f8').tobytes() for n in names)).hexdigest()</c>.
        /// </summary>
        /// <returns>64 hex digits.</returns>
        public string ComputeSha256()
        {
            using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            byte[]? swap = BitConverter.IsLittleEndian ? null : new byte[8];
            foreach (var t in _tensors)
            {
                var d = (double[])t.Array.RawData;
                const int Chunk = 1 << 17;
                for (int i = 0; i < d.Length; i += Chunk)
                {
                    int n = Math.Min(Chunk, d.Length - i);
                    if (swap is null) { h.AppendData(MemoryMarshal.AsBytes(d.AsSpan(i, n))); continue; }
                    for (int k = 0; k < n; k++)
                    {
                        System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(swap, d[i + k]);
                        h.AppendData(swap);
                    }
                }
            }
            return Convert.ToHexStringLower(h.GetHashAndReset());
        }

        /// <summary>For example "CheckpointData dense-network [W [3, 4], b [4]]".</summary>
        /// <returns>The description.</returns>
        public override string ToString() =>
            "CheckpointData " + Kind + " [" + string.Join(", ", _tensors.Select(t => t.Name + " " + Check.Shape(t.Array.Shape))) + "]";
    }
}
