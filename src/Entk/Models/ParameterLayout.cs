using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;

namespace Entk.Models
{
    /// <summary>One named parameter tensor of a model and where it sits in the flat parameter vector θ.</summary>
    public sealed class ParameterTensorInfo
    {
        internal ParameterTensorInfo(string name, IReadOnlyList<int> shape, int offset)
        {
            Name = name;
            Shape = ReadOnly.Copy(shape);
            Offset = offset;
            long count = 1;
            foreach (int d in shape) count *= d;
            Count = checked((int)count);
        }

        /// <summary>Tensor name, e.g. "W", "b", "0.weight".</summary>
        public string Name { get; }

        /// <summary>Tensor shape (row-major flattening into θ).</summary>
        public IReadOnlyList<int> Shape { get; }

        /// <summary>Index of the tensor's first element in θ.</summary>
        public int Offset { get; }

        /// <summary>Number of elements.</summary>
        public int Count { get; }

        /// <inheritdoc />
        public override string ToString() => Name + " " + Check.Shape(Shape);
    }

    /// <summary>
    /// A named set of parameter tensors whose contributions to the eNTK are summed into one layerwise
    /// kernel K^(g) = Σ_{μ ∈ g} ∂f_c(x)/∂θ_μ ∂f_d(x')/∂θ_μ.
    /// </summary>
    public sealed class ParameterGroup
    {
        /// <summary>Creates a group.</summary>
        /// <param name="name">Group name (shown in results).</param>
        /// <param name="tensorNames">Names of the parameter tensors it contains (at least one).</param>
        public ParameterGroup(string name, IReadOnlyList<string> tensorNames)
        {
            Name = Check.NotNull(name, nameof(name));
            Check.NotNull(tensorNames, nameof(tensorNames));
            if (tensorNames.Count == 0) throw new EntkArgumentException(nameof(tensorNames), "at least one tensor name", "an empty list");
            TensorNames = ReadOnly.Copy(tensorNames);
        }

        /// <summary>Creates a group from tensor names.</summary>
        /// <param name="name">Group name.</param>
        /// <param name="tensorNames">Tensor names.</param>
        /// <returns>The group.</returns>
        public static ParameterGroup Of(string name, params string[] tensorNames) => new(name, tensorNames);

        /// <summary>Group name.</summary>
        public string Name { get; }

        /// <summary>Names of the tensors in the group.</summary>
        public IReadOnlyList<string> TensorNames { get; }
    }

    /// <summary>
    /// The explicit, stable parameter layout of a model: an ordered list of named tensors. The flat
    /// parameter vector θ (length <see cref="Count"/>) is the concatenation of the tensors, each
    /// flattened row-major, in this order. Jacobian columns follow the same order.
    /// </summary>
    public sealed class ParameterLayout
    {
        private readonly ParameterTensorInfo[] _tensors;
        private readonly Dictionary<string, int> _index;

        /// <summary>Creates a layout from (name, shape) pairs in order.</summary>
        /// <param name="names">Tensor names (unique).</param>
        /// <param name="shapes">Tensor shapes, one per name.</param>
        public ParameterLayout(IReadOnlyList<string> names, IReadOnlyList<IReadOnlyList<int>> shapes)
        {
            Check.NotNull(names, nameof(names));
            Check.NotNull(shapes, nameof(shapes));
            if (names.Count != shapes.Count)
                throw new ShapeMismatchException(nameof(shapes), Check.Inv($"[{names.Count}] (one shape per name)"), Check.Inv($"[{shapes.Count}]"));
            _tensors = new ParameterTensorInfo[names.Count];
            _index = new Dictionary<string, int>(StringComparer.Ordinal);
            int offset = 0;
            for (int i = 0; i < names.Count; i++)
            {
                if (_index.ContainsKey(names[i])) throw new EntkArgumentException(nameof(names), "unique tensor names", "duplicate '" + names[i] + "'");
                foreach (int d in shapes[i])
                    if (d < 0) throw new EntkArgumentException(nameof(shapes), "non-negative dimensions", Check.Shape(shapes[i]) + " for '" + names[i] + "'");
                _tensors[i] = new ParameterTensorInfo(names[i], shapes[i], offset);
                _index[names[i]] = i;
                offset = checked(offset + _tensors[i].Count);
            }
            Count = offset;
            Tensors = ReadOnly.View(_tensors);
        }

        /// <summary>The tensors in θ order.</summary>
        public IReadOnlyList<ParameterTensorInfo> Tensors { get; }

        /// <summary>Total number of parameters P.</summary>
        public int Count { get; }

        /// <summary>The tensor with a given name.</summary>
        /// <param name="name">Tensor name.</param>
        /// <exception cref="EntkArgumentException">Unknown name.</exception>
        public ParameterTensorInfo this[string name] => _tensors[IndexOf(name)];

        /// <summary>Position of a tensor in the layout.</summary>
        /// <param name="name">Tensor name.</param>
        /// <returns>0-based position.</returns>
        /// <exception cref="EntkArgumentException">Unknown name (the message lists the known ones).</exception>
        public int IndexOf(string name)
        {
            Check.NotNull(name, nameof(name));
            if (_index.TryGetValue(name, out int i)) return i;
            throw new EntkArgumentException(nameof(name), "one of the model's tensor names {" + string.Join(", ", _tensors.Select(t => t.Name)) + "}", "'" + name + "'");
        }

        /// <summary>True when a tensor of that name exists.</summary>
        /// <param name="name">Tensor name.</param>
        /// <returns>Whether it exists.</returns>
        public bool Contains(string name) => name is not null && _index.ContainsKey(name);

        /// <summary>The default layerwise grouping: one group per tensor, named after it.</summary>
        public IReadOnlyList<ParameterGroup> PerTensorGroups => ReadOnly.Copy(_tensors.Select(t => ParameterGroup.Of(t.Name, t.Name)));

        /// <summary>Validates groups against this layout (known, non-overlapping tensor names, unique group names).</summary>
        internal void ValidateGroups(IReadOnlyList<ParameterGroup> groups, string paramName)
        {
            Check.NotNull(groups, paramName);
            if (groups.Count == 0) throw new EntkArgumentException(paramName, "at least one parameter group", "an empty list");
            var seenTensor = new HashSet<string>(StringComparer.Ordinal);
            var seenGroup = new HashSet<string>(StringComparer.Ordinal);
            foreach (var g in groups)
            {
                if (!seenGroup.Add(g.Name)) throw new EntkArgumentException(paramName, "unique group names", "duplicate group '" + g.Name + "'");
                foreach (var t in g.TensorNames)
                {
                    if (!_index.ContainsKey(t))
                        throw new EntkArgumentException(paramName, "tensor names from {" + string.Join(", ", _tensors.Select(x => x.Name)) + "}", "unknown tensor '" + t + "' in group '" + g.Name + "'");
                    if (!seenTensor.Add(t))
                        throw new EntkArgumentException(paramName, "each tensor in at most one group", "tensor '" + t + "' in several groups");
                }
            }
        }
    }
}
