using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Entk.Internal;
using Entk.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Models
{
    /// <summary>What <see cref="ModuleWeights.Load"/> did (immutable).</summary>
    public sealed class WeightLoadReport
    {
        internal WeightLoadReport(IReadOnlyList<string> loaded, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected)
        {
            Loaded = Array.AsReadOnly(loaded.ToArray());
            Missing = Array.AsReadOnly(missing.ToArray());
            Unexpected = Array.AsReadOnly(unexpected.ToArray());
        }

        /// <summary>Parameter and buffer names that were copied into the module.</summary>
        public IReadOnlyList<string> Loaded { get; }

        /// <summary>Names of the module's parameters the file does not have (empty after a strict load).</summary>
        public IReadOnlyList<string> Missing { get; }

        /// <summary>Names in the file the module does not have (empty after a strict load).</summary>
        public IReadOnlyList<string> Unexpected { get; }
    }

    /// <summary>
    /// Loads weights saved by PyTorch into a user's own TorchSharp module, the one documented helper for the "state_dict"
    /// route: <c>torch.save(model.state_dict(), "m.pt")</c> in Python (ZIP format, float32/float64 tensors; read by Entk's
    /// restricted reader, which executes nothing), or an <c>np.savez</c> archive whose keys are the state_dict names. The
    /// module must have the same parameter names and shapes as the PyTorch model (TorchSharp modules named like their
    /// PyTorch counterparts do). Values are converted to each parameter's dtype.
    /// </summary>
    public static class ModuleWeights
    {
        /// <summary>Copies a state_dict file (<c>.pt</c>/<c>.pth</c> from torch.save, or <c>.npz</c>) into a module's parameters and buffers.</summary>
        /// <param name="module">The module (its tensors are overwritten in place, without gradients).</param>
        /// <param name="path">The file.</param>
        /// <param name="strict">Require every module parameter to be in the file and every file entry to be in the module (default true).</param>
        /// <returns>What was loaded.</returns>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        /// <exception cref="EntkFormatException">The file is corrupt or not a state_dict.</exception>
        /// <exception cref="ShapeMismatchException">An entry's shape differs from the module's tensor.</exception>
        /// <exception cref="EntkArgumentException">A strict load with missing or unexpected names (the message lists them).</exception>
        /// <exception cref="NonFiniteValueException">An entry holds NaN or ±Infinity.</exception>
        public static WeightLoadReport Load(nn.Module module, string path, bool strict = true)
        {
            Check.NotNull(module, nameof(module));
            Check.NotNull(path, nameof(path));
            if (!File.Exists(path)) throw new FileNotFoundException("weights file not found: " + path, path);
            IReadOnlyList<NamedArray> entries;
            if (path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
            {
                var z = Npz.Read(path);
                entries = z.Names.Select(n => new NamedArray(n, z[n])).ToArray();
            }
            else entries = TorchStateDict.Read(path);
            var targets = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (n, p) in module.named_parameters()) targets[n] = p;
            foreach (var (n, b) in module.named_buffers()) targets.TryAdd(n, b);
            var paramNames = module.named_parameters().Select(p => p.name).ToArray();
            var fileNames = new HashSet<string>(entries.Select(e => e.Name), StringComparer.Ordinal);
            var missing = paramNames.Where(n => !fileNames.Contains(n)).ToArray();
            var unexpected = entries.Select(e => e.Name).Where(n => !targets.ContainsKey(n)).ToArray();
            if (strict && (missing.Length > 0 || unexpected.Length > 0))
                throw new EntkArgumentException(nameof(path), "a state_dict with exactly the module's names",
                    (missing.Length > 0 ? "missing " + string.Join(", ", missing) : "") + (missing.Length > 0 && unexpected.Length > 0 ? "; " : "") +
                    (unexpected.Length > 0 ? "unexpected " + string.Join(", ", unexpected) : ""),
                    "Module names: " + string.Join(", ", paramNames) + ". Pass strict: false to load the matching names only.");
            var loaded = new List<string>();
            using (torch.no_grad())
            {
                foreach (var e in entries)
                {
                    if (!targets.TryGetValue(e.Name, out var t)) continue;
                    var shape = e.Array.Shape.Select(d => (long)d).ToArray();
                    if (!shape.SequenceEqual(t.shape))
                        throw new ShapeMismatchException(nameof(path), Check.Shape(t.shape) + " for '" + e.Name + "'", Check.Shape(shape));
                    var data = e.Array.ToDoubleArray();
                    for (int i = 0; i < data.Length; i++)
                        if (!double.IsFinite(data[i])) throw new NonFiniteValueException(nameof(path), e.Name + "[" + i + "]", data[i]);
                    using var src = torch.tensor(data, shape, ScalarType.Float64);
                    t.copy_(src.to(t.dtype));
                    loaded.Add(e.Name);
                }
            }
            return new WeightLoadReport(loaded, missing, unexpected);
        }
    }
}
