using System;
using System.IO;
using System.Numerics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Entk.Internal;

namespace Entk.IO
{
    /// <summary>
    /// Writes JSON reports (e.g. <c>metrics.json</c>) atomically with System.Text.Json: indented by
    /// two spaces, "\n" line ends, a final newline, invariant number formatting (shortest round-trip
    /// digits), property names as declared, and non-ASCII characters written as they are (UTF-8, no
    /// BOM) rather than as \u escapes.
    /// </summary>
    /// <remarks>
    /// JSON has no NaN or infinity. Rather than failing a long run at its last step, every non-finite
    /// <see cref="double"/>, <see cref="float"/> or <see cref="Half"/> is written as <c>null</c> (which numpy/pandas read
    /// back as NaN/None); callers that must distinguish them should record the fact separately.
    /// </remarks>
    public static class JsonFile
    {
        /// <summary>Serialises an object (POCO, anonymous object, F# record, dictionary, array, ...) and writes it atomically.</summary>
        /// <param name="path">Target path.</param>
        /// <param name="value">The object (null writes <c>null</c>).</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void Write(string path, object? value, bool overwrite = false)
        {
            Check.NotNull(path, nameof(path));
            byte[] bytes = Serialize(value);
            AtomicFile.WriteAllBytes(path, bytes, overwrite);
        }

        /// <summary>Writes a JSON node tree atomically.</summary>
        /// <param name="path">Target path.</param>
        /// <param name="node">The node (null writes <c>null</c>).</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void Write(string path, JsonNode? node, bool overwrite = false)
        {
            Check.NotNull(path, nameof(path));
            byte[] bytes = SerializeNode(node);
            AtomicFile.WriteAllBytes(path, bytes, overwrite);
        }

        /// <summary>The text <see cref="Write(string, object, bool)"/> would write.</summary>
        /// <param name="value">The object.</param>
        /// <returns>Indented JSON ending in a newline.</returns>
        public static string ToJsonString(object? value) => new System.Text.UTF8Encoding(false).GetString(Serialize(value));

        private static readonly JsonSerializerOptions Options = CreateOptions();

        private static JsonSerializerOptions CreateOptions()
        {
            var o = new JsonSerializerOptions
            {
                WriteIndented = true,
                IndentSize = 2,
                NewLine = "\n",
                Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
                TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
            };
            o.Converters.Add(new NonFiniteAsNull<double>());
            o.Converters.Add(new NonFiniteAsNull<float>());
            o.Converters.Add(new NonFiniteAsNull<Half>());
            o.MakeReadOnly();
            return o;
        }

        private static JsonWriterOptions WriterOptions => new()
        {
            Indented = true,
            IndentSize = 2,
            NewLine = "\n",
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };

        internal static byte[] Serialize(object? value)
        {
            if (value is JsonNode node) return SerializeNode(node);
            // Through a node tree, so JsonNode values nested inside objects get the same non-finite handling.
            return SerializeNode(JsonSerializer.SerializeToNode(value, value?.GetType() ?? typeof(object), Options));
        }

        private static byte[] SerializeNode(JsonNode? node)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, WriterOptions)) WriteNode(w, node);
            ms.WriteByte((byte)'\n');
            return ms.ToArray();
        }

        private static void WriteNode(Utf8JsonWriter w, JsonNode? node)
        {
            switch (node)
            {
                case null:
                    w.WriteNullValue();
                    break;
                case JsonObject o:
                    w.WriteStartObject();
                    foreach (var kv in o)
                    {
                        w.WritePropertyName(kv.Key);
                        WriteNode(w, kv.Value);
                    }
                    w.WriteEndObject();
                    break;
                case JsonArray a:
                    w.WriteStartArray();
                    foreach (var item in a) WriteNode(w, item);
                    w.WriteEndArray();
                    break;
                case JsonValue v:
                    if (IsNonFinite<double>(v) || IsNonFinite<float>(v) || IsNonFinite<Half>(v)) w.WriteNullValue();
                    else v.WriteTo(w, Options);
                    break;
                default:
                    node.WriteTo(w, Options);
                    break;
            }
        }

        private static bool IsNonFinite<T>(JsonValue v)
            where T : struct, IFloatingPointIeee754<T> => v.TryGetValue<T>(out T x) && !T.IsFinite(x);

        /// <summary>
        /// The one converter for every IEEE floating-point type: finite values are written by System.Text.Json's own
        /// converter for <typeparamref name="T"/> (shortest round-trip digits), NaN and ±Infinity as <c>null</c>; a
        /// <c>null</c> token reads back as NaN.
        /// </summary>
        private sealed class NonFiniteAsNull<T> : JsonConverter<T>
            where T : struct, IFloatingPointIeee754<T>
        {
            private static readonly JsonConverter<T> Default = (JsonConverter<T>)JsonSerializerOptions.Default.GetConverter(typeof(T));

            public override bool HandleNull => false;

            public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
                reader.TokenType == JsonTokenType.Null ? T.NaN : Default.Read(ref reader, typeToConvert, options);

            public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
            {
                if (T.IsFinite(value)) Default.Write(writer, value, options);
                else writer.WriteNullValue();
            }
        }
    }
}
