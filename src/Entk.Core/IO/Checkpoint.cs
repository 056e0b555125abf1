using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Entk.Internal;

namespace Entk.IO
{
    /// <summary>
    /// Model checkpoints as plain <c>.npz</c> archives that numpy and PyTorch users read without Entk.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Layout: one float64 <c>.npy</c> entry per parameter tensor under its layout name (e.g.
    /// <c>W.npy</c>, <c>b.npy</c>), in layout order, followed by <c>__entk__.npy</c>: a 1-D uint8
    /// array holding UTF-8 JSON:
    /// </para>
    /// <code>
    /// { "format": "entk-checkpoint", "format_version": 1, "writer": "Entk 0.1.0",
    ///   "kind": "dense-network",
    ///   "hyperparameters": { "activation": "tanh", "lr": 0.001 },
    ///   "parameters": [ { "name": "W", "shape": [3, 4], "dtype": "&lt;f8" }, ... ],
    ///   "sha256": "…64 hex digits…",
    ///   "sha256_of": "…",
    ///   "info": { "epoch": 100, "loss": 0.0123 } }
    /// </code>
    /// <para>
    /// numpy: <c>z = np.load("model.npz"); W = z["W"]; meta = json.loads(z["__entk__"].tobytes())</c>;
    /// PyTorch: <c>torch.from_numpy(z["W"])</c>. The checksum is the SHA-256 of the parameters'
    /// little-endian float64 bytes concatenated in the order of <c>"parameters"</c> (see
    /// <see cref="CheckpointData.ComputeSha256"/>); <see cref="Load"/> verifies it, on top of the
    /// ZIP CRC-32 of every entry. Unknown JSON fields are ignored (additive extensions keep format
    /// version 1); a newer <c>format_version</c> is refused.
    /// </para>
    /// </remarks>
    public static class Checkpoint
    {
        /// <summary>The format version this Entk writes and reads.</summary>
        public const int FormatVersion = 1;

        private const string FormatTag = "entk-checkpoint";
        private const string Sha256Scope = "SHA-256 of the parameters as little-endian float64 in C order, concatenated in the order of 'parameters'";
        private const int MaxMetadataBytes = 16 << 20;

        /// <summary>Saves a checkpoint atomically.</summary>
        /// <param name="path">Target path (conventionally ending in <c>.npz</c>).</param>
        /// <param name="data">The content.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void Save(string path, CheckpointData data, bool overwrite = false)
        {
            Check.NotNull(path, nameof(path));
            Check.NotNull(data, nameof(data));
            byte[] json = BuildMetadata(data);
            var arrays = new List<NamedArray>(data.Tensors) { new(CheckpointData.MetadataEntryName, NdArray.FromBytes(json, json.Length)) };
            Npz.Write(path, arrays, overwrite);
        }

        /// <summary>
        /// Loads a checkpoint. An Entk checkpoint is validated completely (metadata, tensor names,
        /// shapes and types, SHA-256 checksum). A plain <c>.npz</c> without <c>__entk__</c> (e.g. from
        /// <c>np.savez("w.npz", W=W, b=b)</c>) loads with kind <see cref="CheckpointData.UnknownKind"/>,
        /// no hyperparameters, tensors in archive order, float32 arrays promoted to float64, and
        /// <see cref="CheckpointData.HasMetadata"/> false.
        /// </summary>
        /// <param name="path">The file.</param>
        /// <returns>The content.</returns>
        /// <exception cref="EntkFormatException">The file is corrupt, its metadata is invalid, the parameters do not match their checksum, or (plain archives) an array is not float64/float32.</exception>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        public static CheckpointData Load(string path)
        {
            Check.NotNull(path, nameof(path));
            var archive = Npz.Read(path);
            var src = new FormatSource(path);
            if (!archive.ContainsKey(CheckpointData.MetadataEntryName)) return LoadPlain(archive, src);

            var metaArray = archive[CheckpointData.MetadataEntryName];
            if (metaArray.ElementType != ElementType.UInt8 || metaArray.Rank != 1)
                throw src.Fail("the metadata entry '" + CheckpointData.MetadataEntryName + "' must be a 1-D uint8 array of UTF-8 JSON, found " + metaArray + ".");
            string text;
            try { text = new UTF8Encoding(false, true).GetString(metaArray.ToByteArray()); }
            catch (DecoderFallbackException e) { throw src.Fail("the metadata entry is not valid UTF-8.", e); }

            JsonDocument doc;
            try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 16, AllowDuplicateProperties = false }); }
            catch (JsonException e) { throw src.Fail("the metadata entry is not valid JSON: " + e.Message, e); }
            using (doc)
            {
                return FromMetadata(doc.RootElement, archive, src);
            }
        }

        private static CheckpointData LoadPlain(NpzArchive archive, FormatSource src)
        {
            var tensors = new List<NamedArray>(archive.Count);
            foreach (var a in archive.Arrays)
            {
                NdArray t = a.Array.ElementType switch
                {
                    ElementType.Float64 => a.Array,
                    ElementType.Float32 => NdArray.Wrap(ElementType.Float64, a.Array.Shape.ToArray(), a.Array.ToDoubleArray()),
                    _ => throw src.Fail("array '" + a.Name + "' is " + NdArray.NumpyName(a.Array.ElementType) + "; a checkpoint holds float64 (or float32) parameter tensors."),
                };
                string? problem = Npz.NameProblem(a.Name);
                if (problem != null) throw src.Fail("array name '" + a.Name + "' is not a valid tensor name (" + problem + ").");
                tensors.Add(new NamedArray(a.Name, t));
            }
            return new CheckpointData(CheckpointData.UnknownKind, tensors, null, null, hasMetadata: false);
        }

        // ------------------------------------------------------------------ metadata JSON

        internal static byte[] BuildMetadata(CheckpointData data)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, NewLine = "\n", Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                w.WriteString("format", FormatTag);
                w.WriteNumber("format_version", FormatVersion);
                w.WriteString("writer", "Entk " + WriterVersion());
                w.WriteString("kind", data.Kind);
                w.WritePropertyName("hyperparameters");
                WriteValues(w, data.Hyperparameters);
                w.WriteStartArray("parameters");
                foreach (var t in data.Tensors)
                {
                    w.WriteStartObject();
                    w.WriteString("name", t.Name);
                    w.WriteStartArray("shape");
                    foreach (int d in t.Array.Shape) w.WriteNumberValue(d);
                    w.WriteEndArray();
                    w.WriteString("dtype", t.Array.Descr);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteString("sha256", data.ComputeSha256());
                w.WriteString("sha256_of", Sha256Scope);
                w.WritePropertyName("info");
                WriteValues(w, data.Info);
                w.WriteEndObject();
            }
            ms.WriteByte((byte)'\n');
            return ms.ToArray();
        }

        private static string WriterVersion() =>
            typeof(Checkpoint).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

        private static void WriteValues(Utf8JsonWriter w, IReadOnlyDictionary<string, MetadataValue> values)
        {
            w.WriteStartObject();
            foreach (var kv in values)
            {
                w.WritePropertyName(kv.Key);
                switch (kv.Value.Kind)
                {
                    case MetadataValueKind.String: w.WriteStringValue(kv.Value.AsString()); break;
                    case MetadataValueKind.Integer: w.WriteNumberValue(kv.Value.AsInt64()); break;
                    default: w.WriteRawValue(MetadataValue.JsonNumberText(kv.Value.AsDouble())); break;
                }
            }
            w.WriteEndObject();
        }

        private static CheckpointData FromMetadata(JsonElement root, NpzArchive archive, FormatSource src)
        {
            EntkFormatException Bad(string problem) => src.Fail("invalid checkpoint metadata: " + problem);

            if (root.ValueKind != JsonValueKind.Object) throw Bad("the JSON is not an object.");
            JsonElement Get(string name, JsonValueKind kind)
            {
                if (!root.TryGetProperty(name, out var v)) throw Bad("missing field '" + name + "'.");
                if (v.ValueKind != kind) throw Bad("field '" + name + "' should be a JSON " + kind.ToString().ToLowerInvariant() + ", found " + v.ValueKind.ToString().ToLowerInvariant() + ".");
                return v;
            }

            if (Get("format", JsonValueKind.String).GetString() != FormatTag)
                throw Bad("field 'format' is not \"" + FormatTag + "\".");
            var fv = Get("format_version", JsonValueKind.Number);
            if (!fv.TryGetInt32(out int version) || version < 1) throw Bad("field 'format_version' is not a positive integer.");
            if (version > FormatVersion)
                throw src.Fail("the checkpoint has format version " + Check.Inv($"{version}") + ", written by a newer Entk; this version reads format version " + Check.Inv($"{FormatVersion}") + ".");
            string kind = Get("kind", JsonValueKind.String).GetString()!;
            if (kind.Trim().Length == 0) throw Bad("field 'kind' is empty.");
            var hyper = ReadValues(Get("hyperparameters", JsonValueKind.Object), "hyperparameters", Bad);
            var info = root.TryGetProperty("info", out var infoEl)
                ? (infoEl.ValueKind == JsonValueKind.Object ? ReadValues(infoEl, "info", Bad) : throw Bad("field 'info' should be a JSON object."))
                : new OrderedDictionary<string, MetadataValue>();
            string sha = Get("sha256", JsonValueKind.String).GetString()!;
            if (sha.Length != 64 || !sha.All(c => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                throw Bad("field 'sha256' is not 64 lowercase hex digits.");

            var tensors = new List<NamedArray>();
            var listed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in Get("parameters", JsonValueKind.Array).EnumerateArray())
            {
                if (p.ValueKind != JsonValueKind.Object) throw Bad("an entry of 'parameters' is not an object.");
                if (!p.TryGetProperty("name", out var nameEl) || nameEl.ValueKind != JsonValueKind.String) throw Bad("an entry of 'parameters' has no string 'name'.");
                string name = nameEl.GetString()!;
                if (!listed.Add(name)) throw Bad("parameter '" + name + "' is listed twice.");
                if (name == CheckpointData.MetadataEntryName || Npz.NameProblem(name) != null) throw Bad("parameter name '" + name + "' is not valid.");
                if (!p.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array) throw Bad("parameter '" + name + "' has no 'shape' array.");
                var shape = new List<int>();
                foreach (var d in shapeEl.EnumerateArray())
                {
                    if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int di) || di < 0) throw Bad("parameter '" + name + "' has an invalid shape.");
                    shape.Add(di);
                }
                if (p.TryGetProperty("dtype", out var dt) && (dt.ValueKind != JsonValueKind.String || dt.GetString() != "<f8"))
                    throw Bad("parameter '" + name + "' has dtype " + dt.GetRawText() + "; checkpoints hold \"<f8\" tensors.");
                if (!archive.ContainsKey(name)) throw src.Fail("parameter '" + name + "' is listed in the metadata but the archive has no entry '" + name + ".npy'.");
                var a = archive[name];
                if (a.ElementType != ElementType.Float64)
                    throw src.Fail("parameter '" + name + "' is stored as " + NdArray.NumpyName(a.ElementType) + "; checkpoints hold float64 tensors.");
                if (!a.Shape.SequenceEqual(shape))
                    throw src.Fail("parameter '" + name + "' has shape " + Check.Shape(a.Shape) + " in the archive but " + Check.Shape(shape) + " in the metadata.");
                tensors.Add(new NamedArray(name, a));
            }
            foreach (var n in archive.Names)
                if (n != CheckpointData.MetadataEntryName && !listed.Contains(n))
                    throw src.Fail("the archive holds an array '" + n + "' that the checkpoint metadata does not list.");

            var data = new CheckpointData(kind, tensors, hyper, info, hasMetadata: true);
            string actual = data.ComputeSha256();
            if (actual != sha)
                throw src.Fail("parameter data does not match its checksum (stored SHA-256 " + sha + ", computed " + actual + "); the parameters were modified or corrupted.");
            return data;
        }

        private static OrderedDictionary<string, MetadataValue> ReadValues(JsonElement obj, string field, Func<string, EntkFormatException> bad)
        {
            var ordered = new OrderedDictionary<string, MetadataValue>(StringComparer.Ordinal);
            foreach (var p in obj.EnumerateObject())
            {
                if (p.Name.Length == 0) throw bad("'" + field + "' has an empty key.");
                if (ordered.ContainsKey(p.Name)) throw bad("'" + field + "' has the key '" + p.Name + "' twice.");
                MetadataValue v;
                switch (p.Value.ValueKind)
                {
                    case JsonValueKind.String:
                        v = MetadataValue.FromString(p.Value.GetString()!);
                        break;
                    case JsonValueKind.Number:
                        string raw = p.Value.GetRawText();
                        if (raw.IndexOfAny(new[] { '.', 'e', 'E' }) < 0 && p.Value.TryGetInt64(out long l)) v = MetadataValue.FromInt64(l);
                        else if (p.Value.TryGetDouble(out double x) && double.IsFinite(x)) v = MetadataValue.FromDouble(x);
                        else throw bad("'" + field + "." + p.Name + "' is out of range: " + raw + ".");
                        break;
                    default:
                        throw bad("'" + field + "." + p.Name + "' must be a string or a number, found " + p.Value.ValueKind.ToString().ToLowerInvariant() + ".");
                }
                ordered.Add(p.Name, v);
            }
            return ordered;
        }
    }
}
