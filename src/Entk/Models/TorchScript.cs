using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Entk.Internal;
using Entk.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Entk.Models
{
    /// <summary>Options of <see cref="TorchScript.Load"/>. Every member has a documented default.</summary>
    public sealed record TorchScriptOptions
    {
        /// <summary>
        /// The parameter dtype of the loaded model (default <see cref="Kernels.Precision.Float64"/>: parameters are
        /// converted to float64 whatever the file holds; <see cref="Kernels.Precision.Float32"/> converts to float32).
        /// </summary>
        public Kernels.Precision Precision { get; init; } = Kernels.Precision.Float64;

        /// <summary>
        /// Inputs (N × D, rows flattened row-major from the per-sample shape) on which a native rebuild is checked against the
        /// TorchScript forward pass (default null: 8 seeded rows of zeros and ones, which are valid token ids as well).
        /// </summary>
        public Matrix? ProbeInputs { get; init; }

        /// <summary>Seed of the default probe inputs (default 0).</summary>
        public long Seed { get; init; }

        /// <summary>
        /// Whether the module takes int64 token ids (default null: detected — true when a scripted Sequential starts with an
        /// Embedding, false otherwise). Input values must then be integers.
        /// </summary>
        public bool? IntegerInputs { get; init; }
    }

    /// <summary>How a TorchScript file was imported (immutable).</summary>
    public sealed class TorchScriptImport
    {
        internal TorchScriptImport(TorchModuleModel model, bool rebuilt, string description, IReadOnlyList<string> layers, string? reason)
        {
            Model = model;
            Rebuilt = rebuilt;
            Description = description;
            Layers = Array.AsReadOnly(layers.ToArray());
            OpaqueReason = reason;
        }

        /// <summary>The model (parameters named as in PyTorch's <c>named_parameters()</c>).</summary>
        public TorchModuleModel Model { get; }

        /// <summary>
        /// True when the scripted module was rebuilt as native TorchSharp layers (an <c>nn.Sequential</c> of standard layers,
        /// checked equal to the TorchScript forward pass), so the layer rules apply; false when the TorchScript module itself
        /// runs (custom forward code), so every tensor takes the generic per-sample route.
        /// </summary>
        public bool Rebuilt { get; }

        /// <summary>For example "nn.Sequential rebuilt natively: Linear(784→512), Tanh, …".</summary>
        public string Description { get; }

        /// <summary>The layer types of a rebuilt Sequential, in order (empty when not rebuilt).</summary>
        public IReadOnlyList<string> Layers { get; }

        /// <summary>Why the module was not rebuilt (null when it was).</summary>
        public string? OpaqueReason { get; }

        /// <inheritdoc />
        public override string ToString() => Description;
    }

    /// <summary>
    /// Models saved by PyTorch with <c>torch.jit.save(torch.jit.script(model), path)</c> as <see cref="NtkModel"/>s.
    /// A scripted <c>nn.Sequential</c> of standard layers (Linear, Conv1d/Conv2d, Embedding, LayerNorm, Flatten, Dropout,
    /// Identity and the usual activations, nested Sequentials too) is rebuilt as the same TorchSharp layers with the
    /// file's parameters and checked to give the same outputs as the TorchScript forward pass, so that it gets the same
    /// layer-rule speed as a native module; any other module runs as TorchScript (correct, generic route). Loaded from
    /// Debian's torch 1.13 files and later.
    /// </summary>
    public static class TorchScript
    {
        private const long MaxCodeBytes = 16L << 20;

        /// <summary>Loads a TorchScript file.</summary>
        /// <param name="path">A file written by <c>torch.jit.save</c>.</param>
        /// <param name="inputShape">The per-sample input shape the forward pass takes (e.g. [784], [1, 28, 28], [32]); inputs are N × prod(shape) matrices.</param>
        /// <param name="options">Options (default float64 parameters, seeded 0/1 probe inputs).</param>
        /// <returns>The import: the model and how it was imported.</returns>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        /// <exception cref="EntkFormatException">Not a TorchScript archive, or libtorch cannot load it.</exception>
        /// <exception cref="EntkArgumentException">A bad input shape, or a module whose output is not (N, C).</exception>
        public static TorchScriptImport Load(string path, IReadOnlyList<int> inputShape, TorchScriptOptions? options = null)
        {
            Check.NotNull(path, nameof(path));
            Check.NotNull(inputShape, nameof(inputShape));
            var o = options ?? new TorchScriptOptions();
            if (inputShape.Count == 0 || inputShape.Any(d => d <= 0))
                throw new EntkArgumentException(nameof(inputShape), "a non-empty per-sample shape of positive sizes", Check.Shape(inputShape));
            long dim = MemoryBudget.Product(inputShape.Select(d => (long)d).ToArray());
            if (dim > int.MaxValue) throw new EntkArgumentException(nameof(inputShape), "fewer than 2³¹ elements per sample", Check.Shape(inputShape));
            if (!File.Exists(path)) throw new FileNotFoundException("TorchScript file not found: " + path, path);
            var archive = ReadArchive(path);
            bool integer = o.IntegerInputs ?? StartsWithEmbedding(archive);
            jit.ScriptModule<Tensor, Tensor> script;
            try
            {
                script = jit.load<Tensor, Tensor>(path);
            }
            catch (Exception e) when (e is ExternalException or ArgumentException or InvalidOperationException or NotSupportedException)
            {
                throw new EntkFormatException(path, "libtorch could not load it as TorchScript: " + FirstLine(e.Message), e);
            }
            var dtype = o.Precision == Kernels.Precision.Float32 ? ScalarType.Float32 : ScalarType.Float64;
            script.to(dtype);
            script.eval();
            var shape = inputShape.ToArray();
            var probe = o.ProbeInputs ?? DefaultProbe((int)dim, o.Seed);
            if (probe.Columns != dim) throw new ShapeMismatchException(nameof(options) + ".ProbeInputs", Check.Inv($"[*, {dim}]"), Check.Shape(probe.Rows, probe.Columns));
            Tensor Reshape(Tensor x) => x.reshape(new long[] { x.shape[0] }.Concat(shape.Select(d => (long)d)).ToArray()).to(integer ? ScalarType.Int64 : dtype);

            int outputs;
            Tensor reference;
            using (torch.no_grad())
            {
                try
                {
                    reference = script.call(Reshape(Torch.TorchOps.ToTensor(probe))).to(ScalarType.Float64).detach().DetachFromDisposeScope();
                }
                catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException)
                {
                    throw new EntkArgumentException(nameof(inputShape), "a per-sample shape the module's forward accepts",
                        Check.Shape(inputShape) + " (the forward pass failed: " + FirstLine(e.Message) + ")");
                }
            }
            if (reference.dim() != 2 || reference.shape[0] != probe.Rows)
                throw new EntkArgumentException(nameof(path), "a module whose forward returns (N, C) outputs", Check.Inv($"outputs of shape {Check.Shape(reference.shape)} for {probe.Rows} inputs"));
            outputs = (int)reference.shape[1];
            string name = Path.GetFileNameWithoutExtension(path);

            string? reason;
            try
            {
                var (native, layers) = Rebuild(archive, script, dtype, out reason);
                if (native is not null)
                {
                    Tensor mine;
                    using (torch.no_grad())
                    {
                        native.eval();
                        mine = native.call(Reshape(Torch.TorchOps.ToTensor(probe))).to(ScalarType.Float64);
                    }
                    double diff = mine.shape.SequenceEqual(reference.shape) ? (mine - reference).abs().max().item<double>() : double.PositiveInfinity;
                    double scale = Math.Max(reference.abs().max().item<double>(), 1e-300);
                    double tol = dtype == ScalarType.Float32 ? 1e-5 : 1e-12;
                    if (diff <= tol * scale || diff == 0)
                    {
                        var model = TorchModuleModel.Wrap(native, (int)dim, outputs, shape, name, integer);
                        return new TorchScriptImport(model, true, "nn.Sequential rebuilt natively: " + string.Join(", ", layers), layers, null);
                    }
                    reason = Check.Inv($"the native rebuild differs from the TorchScript forward pass (max |Δ| = {Check.R(diff)}, relative {Check.R(diff / scale)})");
                }
            }
            catch (Exception e) when (e is ExternalException or InvalidOperationException or ArgumentException or FormatException or KeyNotFoundException or NotSupportedException)
            {
                reason = "the rebuild failed (" + FirstLine(e.Message) + ")";
            }
            var opaque = TorchModuleModel.Wrap(new ScriptAdapter(script), (int)dim, outputs, shape, name, integer);
            return new TorchScriptImport(opaque, false, "TorchScript module run as is (generic per-sample route): " + reason, Array.Empty<string>(), reason);
        }

        private static bool StartsWithEmbedding(Archive a)
        {
            var cls = a.Classes.GetValueOrDefault(a.Root);
            while (cls is not null && cls.Plain == "__torch__.torch.nn.modules.container.Sequential")
            {
                var first = cls.Children.Keys.OrderBy(k => int.TryParse(k, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : int.MaxValue).FirstOrDefault();
                cls = first is null ? null : a.Classes.GetValueOrDefault(cls.Children[first]);
            }
            return cls is not null && cls.Plain == "__torch__.torch.nn.modules.sparse.Embedding";
        }

        private static string FirstLine(string s)
        {
            int i = s.IndexOf('\n');
            return (i < 0 ? s : s.Substring(0, i)).Trim();
        }

        private static Matrix DefaultProbe(int dim, long seed)
        {
            var rng = new Random(unchecked((int)seed) ^ 0x5eed);
            var d = new double[8 * (long)dim];
            for (long i = 0; i < d.Length; i++) d[i] = rng.Next(2);
            return Matrix.FromArray(8, dim, d);
        }

        /// <summary>A scripted module as a TorchSharp <c>Module&lt;Tensor, Tensor&gt;</c> whose parameters keep their names.</summary>
        private sealed class ScriptAdapter : nn.Module<Tensor, Tensor>
        {
            private readonly jit.ScriptModule<Tensor, Tensor> _script;

            public ScriptAdapter(jit.ScriptModule<Tensor, Tensor> script) : base("TorchScript")
            {
                _script = script;
                foreach (var (n, child) in script.named_children()) register_module(n, child);
                foreach (var (n, p) in script.named_parameters(false))
                    if (!n.Contains('.', StringComparison.Ordinal)) register_parameter(n, p);
            }

            public override Tensor forward(Tensor input) => _script.call(input);
        }

        // ---- the archive: classes, their attributes and the root type ----

        private sealed class ScriptClass
        {
            public ScriptClass(string fullName) => FullName = fullName;

            public string FullName { get; }

            /// <summary>Name without mangling segments, e.g. "__torch__.torch.nn.modules.linear.Linear".</summary>
            public string Plain => Regex.Replace(FullName, @"\.___torch_mangle_\d+", "");

            public Dictionary<string, string> Children { get; } = new(StringComparer.Ordinal);

            public Dictionary<string, string> Constants { get; } = new(StringComparer.Ordinal);

            public Dictionary<string, string> Types { get; } = new(StringComparer.Ordinal);

            public List<string> Parameters { get; } = new();
        }

        private sealed class Archive
        {
            public Archive(string root, Dictionary<string, ScriptClass> classes)
            {
                Root = root;
                Classes = classes;
            }

            public string Root { get; }

            public Dictionary<string, ScriptClass> Classes { get; }
        }

        private static Archive ReadArchive(string path)
        {
            var src = new FormatSource(path);
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var head = new byte[4];
            if (Npy.ReadFull(fs, head) < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
                throw src.Fail("not a TorchScript archive (torch.jit.save writes a ZIP file starting with 'PK').");
            fs.Position = 0;
            var zip = ZipReader.Open(fs, src);
            var pkl = zip.Entries.Where(e => e.Name.EndsWith("/data.pkl", StringComparison.Ordinal) && e.Name.Count(ch => ch == '/') == 1).ToList();
            if (pkl.Count != 1) throw src.Fail("the archive has no top-level data.pkl; it was not written by torch.jit.save.");
            string prefix = pkl[0].Name.Substring(0, pkl[0].Name.Length - "data.pkl".Length);
            if (!zip.Entries.Any(e => e.Name.StartsWith(prefix + "code/", StringComparison.Ordinal)))
                throw src.Fail("the archive has no code/ folder: it is a torch.save checkpoint (a state_dict?), not a TorchScript module; save the model with torch.jit.save(torch.jit.script(model)).");
            var root = RootClass(zip.ReadAllBytes(pkl[0], 64 << 10), src);
            var classes = new Dictionary<string, ScriptClass>(StringComparer.Ordinal);
            foreach (var e in zip.Entries)
            {
                if (!e.Name.StartsWith(prefix + "code/", StringComparison.Ordinal) || !e.Name.EndsWith(".py", StringComparison.Ordinal)) continue;
                string module = e.Name.Substring(prefix.Length + 5, e.Name.Length - prefix.Length - 5 - 3).Replace('/', '.');
                ParseCode(Encoding.UTF8.GetString(zip.ReadAllBytes(e, MaxCodeBytes)), module, classes);
            }
            return new Archive(root, classes);
        }

        /// <summary>The root object's class from the first GLOBAL opcode of data.pkl ("c" module "\n" name "\n").</summary>
        private static string RootClass(byte[] pickle, FormatSource src)
        {
            int i = 0;
            if (pickle.Length > 2 && pickle[0] == 0x80) i = 2;
            if (i >= pickle.Length || pickle[i] != (byte)'c') throw src.Fail("data.pkl does not start with the root module's class.");
            int a = Array.IndexOf(pickle, (byte)'\n', i + 1);
            int b = a < 0 ? -1 : Array.IndexOf(pickle, (byte)'\n', a + 1);
            if (a < 0 || b < 0) throw src.Fail("data.pkl is truncated.");
            return Encoding.ASCII.GetString(pickle, i + 1, a - i - 1) + "." + Encoding.ASCII.GetString(pickle, a + 1, b - a - 1);
        }

        private static readonly Regex ClassLine = new(@"^class (\w+)\(", RegexOptions.Compiled);
        private static readonly Regex ChildLine = new(@"^\s+__annotations__\[""([^""]+)""\] = ([\w\.]+)\s*$", RegexOptions.Compiled);
        private static readonly Regex AttrLine = new(@"^\s+(\w+) : (.+?)(?: = (.+))?\s*$", RegexOptions.Compiled);
        private static readonly Regex ParamsLine = new(@"^\s+__parameters__ = \[(.*)\]\s*$", RegexOptions.Compiled);

        private static void ParseCode(string code, string module, Dictionary<string, ScriptClass> classes)
        {
            ScriptClass? cur = null;
            foreach (var raw in code.Split('\n'))
            {
                var line = raw.TrimEnd('\r');
                var m = ClassLine.Match(line);
                if (m.Success)
                {
                    cur = new ScriptClass(module + "." + m.Groups[1].Value);
                    classes[cur.FullName] = cur;
                    continue;
                }
                if (cur is null || line.TrimStart().StartsWith("def ", StringComparison.Ordinal)) { if (line.TrimStart().StartsWith("def ", StringComparison.Ordinal)) cur = null; continue; }
                if ((m = ChildLine.Match(line)).Success) { cur.Children[m.Groups[1].Value] = m.Groups[2].Value; continue; }
                if ((m = ParamsLine.Match(line)).Success)
                {
                    cur.Parameters.AddRange(m.Groups[1].Value.Split(',').Select(t => t.Trim().Trim('"')).Where(t => t.Length > 0));
                    continue;
                }
                if ((m = AttrLine.Match(line)).Success)
                {
                    cur.Types[m.Groups[1].Value] = m.Groups[2].Value.Trim();
                    if (m.Groups[3].Success) cur.Constants[m.Groups[1].Value] = m.Groups[3].Value.Trim();
                    else if (m.Groups[2].Value.StartsWith("__torch__.", StringComparison.Ordinal)) cur.Children[m.Groups[1].Value] = m.Groups[2].Value.Trim();
                }
            }
        }

        // ---- the native rebuild ----

        private static (nn.Module<Tensor, Tensor>? Module, List<string> Layers) Rebuild(Archive a, jit.ScriptModule<Tensor, Tensor> script, ScalarType dtype, out string? reason)
        {
            reason = null;
            var layers = new List<string>();
            if (!a.Classes.TryGetValue(a.Root, out var root)) { reason = "the root class's code is missing from the archive"; return (null, layers); }
            if (root.Plain != "__torch__.torch.nn.modules.container.Sequential")
            {
                reason = "the root module is " + Short(root.Plain) + " with its own forward code (only nn.Sequential of standard layers is rebuilt natively)";
                return (null, layers);
            }
            var parameters = script.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
            var module = BuildSequential(a, root, "", parameters, dtype, layers, out reason);
            if (module is null) return (null, layers);
            var used = new HashSet<string>(module.named_parameters().Select(p => p.name), StringComparer.Ordinal);
            var missing = parameters.Keys.Where(k => !used.Contains(k)).ToArray();
            if (missing.Length > 0) { reason = "parameters not placed in the rebuild: " + string.Join(", ", missing); return (null, layers); }
            return (module, layers);
        }

        private static string Short(string plain) => plain.Substring(plain.LastIndexOf('.') + 1);

        private static Sequential? BuildSequential(Archive a, ScriptClass cls, string prefix, Dictionary<string, Tensor> ps, ScalarType dtype, List<string> layers, out string? reason)
        {
            reason = null;
            var items = new List<(string, nn.Module<Tensor, Tensor>)>();
            var names = cls.Children.Keys.OrderBy(k => int.TryParse(k, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : int.MaxValue).ToArray();
            foreach (var n in names)
            {
                if (!a.Classes.TryGetValue(cls.Children[n], out var child)) { reason = "the code of " + cls.Children[n] + " is missing"; return null; }
                string full = prefix.Length == 0 ? n : prefix + "." + n;
                var m = BuildLayer(a, child, full, ps, dtype, layers, out reason);
                if (m is null) return null;
                items.Add((n, m));
            }
            return nn.Sequential(items.ToArray());
        }

        private static long Int(ScriptClass c, string key) => long.Parse(c.Constants[key], NumberStyles.Integer, CultureInfo.InvariantCulture);

        private static double Real(ScriptClass c, string key) => double.Parse(c.Constants[key], NumberStyles.Float, CultureInfo.InvariantCulture);

        private static long[] Tuple(ScriptClass c, string key) =>
            c.Constants[key].Trim('(', ')', '[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries).Select(t => long.Parse(t.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();

        private static bool HasParameter(ScriptClass c, string name) => c.Parameters.Contains(name) && !(c.Types.TryGetValue(name, out var t) && t == "NoneType");

        private static nn.Module<Tensor, Tensor>? BuildLayer(Archive a, ScriptClass c, string prefix, Dictionary<string, Tensor> ps, ScalarType dtype, List<string> layers, out string? reason)
        {
            reason = null;
            string kind = Short(c.Plain);
            string plainModule = c.Plain.Substring(0, c.Plain.LastIndexOf('.'));
            if (!plainModule.StartsWith("__torch__.torch.nn.modules.", StringComparison.Ordinal))
            {
                reason = "layer '" + prefix + "' is a custom module " + kind + " (not a torch.nn layer)";
                return null;
            }
            nn.Module<Tensor, Tensor> m;
            switch (kind)
            {
                case "Sequential":
                    return BuildSequential(a, c, prefix, ps, dtype, layers, out reason);
                case "Linear":
                {
                    bool bias = HasParameter(c, "bias");
                    m = nn.Linear(Int(c, "in_features"), Int(c, "out_features"), hasBias: bias, dtype: dtype);
                    layers.Add(Check.Inv($"Linear({Int(c, "in_features")}→{Int(c, "out_features")})"));
                    break;
                }
                case "Conv1d":
                case "Conv2d":
                {
                    if (c.Constants.TryGetValue("padding_mode", out var pm) && pm.Trim('"') != "zeros") { reason = "layer '" + prefix + "': padding mode " + pm; return null; }
                    if (c.Constants["padding"].Contains('"')) { reason = "layer '" + prefix + "': string padding " + c.Constants["padding"]; return null; }
                    bool bias = HasParameter(c, "bias");
                    var k = Tuple(c, "kernel_size");
                    var st = Tuple(c, "stride");
                    var pd = Tuple(c, "padding");
                    var dl = Tuple(c, "dilation");
                    long g = Int(c, "groups");
                    if (kind == "Conv1d")
                        m = nn.Conv1d(Int(c, "in_channels"), Int(c, "out_channels"), k[0], stride: st[0], padding: pd[0], dilation: dl[0], groups: g, bias: bias, dtype: dtype);
                    else
                        m = nn.Conv2d(Int(c, "in_channels"), Int(c, "out_channels"), (k[0], k[1]), stride: (st[0], st[1]), padding: (pd[0], pd[1]), dilation: (dl[0], dl[1]), groups: g, bias: bias, dtype: dtype);
                    layers.Add(Check.Inv($"{kind}({Int(c, "in_channels")}→{Int(c, "out_channels")}, k={string.Join("×", k)})"));
                    break;
                }
                case "Embedding":
                {
                    if (c.Constants.TryGetValue("max_norm", out var mn) && mn != "None") { reason = "layer '" + prefix + "': Embedding with max_norm"; return null; }
                    long? pad = c.Constants.TryGetValue("padding_idx", out var pi) && pi != "None" ? long.Parse(pi, CultureInfo.InvariantCulture) : null;
                    m = nn.Embedding(Int(c, "num_embeddings"), Int(c, "embedding_dim"), padding_idx: pad, dtype: dtype);
                    layers.Add(Check.Inv($"Embedding({Int(c, "num_embeddings")}×{Int(c, "embedding_dim")})"));
                    break;
                }
                case "LayerNorm":
                {
                    bool affine = c.Constants.TryGetValue("elementwise_affine", out var ea) ? ea == "True" : HasParameter(c, "weight");
                    m = nn.LayerNorm(Tuple(c, "normalized_shape"), Real(c, "eps"), affine, dtype: dtype);
                    layers.Add("LayerNorm");
                    break;
                }
                case "ReLU": m = nn.ReLU(); layers.Add(kind); break;
                case "Tanh": m = nn.Tanh(); layers.Add(kind); break;
                case "Sigmoid": m = nn.Sigmoid(); layers.Add(kind); break;
                case "SiLU": m = nn.SiLU(); layers.Add(kind); break;
                case "GELU":
                {
                    string approx = c.Constants.TryGetValue("approximate", out var ap) ? ap.Trim('"') : "none";
                    m = approx == "tanh" ? nn.GELU(GELU.Approximate.tanh, false) : nn.GELU();
                    layers.Add(approx == "tanh" ? "GELU(tanh)" : "GELU");
                    break;
                }
                case "LeakyReLU": m = nn.LeakyReLU(Real(c, "negative_slope")); layers.Add(kind); break;
                case "ELU": m = nn.ELU(Real(c, "alpha")); layers.Add(kind); break;
                case "Softplus": m = nn.Softplus(Real(c, "beta"), Real(c, "threshold")); layers.Add(kind); break;
                case "Flatten": m = nn.Flatten(Int(c, "start_dim"), Int(c, "end_dim")); layers.Add(kind); break;
                case "Identity":
                case "Dropout":
                case "Dropout1d":
                case "Dropout2d":
                    m = nn.Identity(); layers.Add(kind == "Identity" ? kind : kind + " (identity in eval mode)"); break;
                default:
                    reason = "layer '" + prefix + "' is " + kind + ", which is not rebuilt natively";
                    return null;
            }
            using (torch.no_grad())
            {
                foreach (var (local, p) in m.named_parameters())
                {
                    string full = prefix + "." + local;
                    if (!ps.TryGetValue(full, out var src)) throw new KeyNotFoundException("parameter " + full + " not in the TorchScript module");
                    if (!src.shape.SequenceEqual(p.shape)) throw new FormatException(Check.Inv($"parameter {full}: shape {Check.Shape(src.shape)} in the file, {Check.Shape(p.shape)} rebuilt"));
                    p.copy_(src.to(dtype));
                }
            }
            return m;
        }
    }
}
