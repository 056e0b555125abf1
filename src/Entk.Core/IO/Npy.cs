using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Entk.Internal;

namespace Entk.IO
{
    /// <summary>
    /// Reads and writes numpy's <c>.npy</c> format (NEP 1). Writing produces version 1.0 files (2.0
    /// only if the header would exceed 65535 bytes), C order, little-endian, with the header padded so
    /// the data starts at a multiple of 64 bytes, byte for byte what numpy 1.24's <c>np.save</c>
    /// writes for the same array. Reading accepts versions 1.0, 2.0 and 3.0, the dtypes
    /// <c>&lt;f8 &lt;f4 &lt;i8 &lt;i4 |b1 |u1</c>, any rank up to <see cref="NdArray.MaxRank"/>, and
    /// <c>fortran_order: True</c> arrays (reordered to C order).
    /// </summary>
    /// <remarks>
    /// Every problem with a file (wrong magic, unsupported version or dtype, malformed header,
    /// truncation, data length different from what the shape needs, bool bytes other than 0/1) raises
    /// <see cref="EntkFormatException"/> naming the file. A <c>.npy</c> file has no checksum, so a
    /// corrupted byte inside float or integer data cannot be detected; use <see cref="Npz"/> (whose
    /// entries carry a CRC-32) when that matters. Large arrays are streamed in chunks; files whose
    /// header declares more data than the file holds are rejected before any allocation.
    /// </remarks>
    public static class Npy
    {
        private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };
        internal const int MaxHeaderLength = 1 << 20;
        private const int GrowthAxisMaxDigits = 21; // numpy's spare room for the first axis
        private const int ArrayAlign = 64;

        // ------------------------------------------------------------------ public API

        /// <summary>Writes an array to a <c>.npy</c> file atomically.</summary>
        /// <param name="path">Target path.</param>
        /// <param name="array">The array.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void Write(string path, NdArray array, bool overwrite = false)
        {
            Check.NotNull(path, nameof(path));
            Check.NotNull(array, nameof(array));
            AtomicFile.Write(path, s => WriteCore(s, array), overwrite);
        }

        /// <summary>Writes an array in <c>.npy</c> format to a stream, starting at its current position.</summary>
        /// <param name="stream">A writable stream (left open).</param>
        /// <param name="array">The array.</param>
        public static void Write(Stream stream, NdArray array)
        {
            Check.NotNull(stream, nameof(stream));
            Check.NotNull(array, nameof(array));
            WriteCore(stream, array);
        }

        /// <summary>Reads a <c>.npy</c> file. The file must hold exactly one array and nothing after it.</summary>
        /// <param name="path">The file.</param>
        /// <returns>The array in C order, with the file's element type.</returns>
        /// <exception cref="EntkFormatException">The file is not a valid, supported <c>.npy</c> file.</exception>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        public static NdArray Read(string path)
        {
            Check.NotNull(path, nameof(path));
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return ReadCore(fs, fs.Length, new FormatSource(path));
        }

        /// <summary>
        /// Reads one <c>.npy</c> array from a stream, starting at its current position, and leaves the
        /// stream just after the array's data (bytes after it are not examined).
        /// </summary>
        /// <param name="stream">A readable stream (left open).</param>
        /// <param name="sourceName">Name used in error messages (e.g. a file or entry name).</param>
        /// <returns>The array in C order.</returns>
        /// <exception cref="EntkFormatException">The data is not a valid, supported <c>.npy</c> array.</exception>
        public static NdArray Read(Stream stream, string sourceName = "stream")
        {
            Check.NotNull(stream, nameof(stream));
            Check.NotNull(sourceName, nameof(sourceName));
            long? avail = null;
            if (stream.CanSeek)
            {
                try { avail = stream.Length - stream.Position; } catch (NotSupportedException) { avail = null; }
            }
            return ReadCore(stream, avail, new FormatSource(sourceName), exact: false);
        }

        /// <summary>Writes a matrix as a 2-D float64 <c>.npy</c> file (shape [Rows, Columns]).</summary>
        /// <param name="path">Target path.</param>
        /// <param name="matrix">The matrix.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void WriteMatrix(string path, Matrix matrix, bool overwrite = false) =>
            Write(path, NdArray.FromMatrix(Check.NotNull(matrix, nameof(matrix))), overwrite);

        /// <summary>Reads a 2-D <c>.npy</c> file as a matrix (float32, integer and bool elements are converted to float64).</summary>
        /// <param name="path">The file.</param>
        /// <returns>The matrix.</returns>
        /// <exception cref="EntkFormatException">The file is invalid or its array is not 2-D.</exception>
        public static Matrix ReadMatrix(string path)
        {
            var a = Read(path);
            if (a.Rank != 2)
                throw new EntkFormatException(path, "expected a 2-D array (a matrix), found shape " + Check.Shape(a.Shape) + ".");
            return Matrix.Wrap(a.Shape[0], a.Shape[1], ToDoubles(a, path));
        }

        /// <summary>Writes values as a 1-D float64 <c>.npy</c> file.</summary>
        /// <param name="path">Target path.</param>
        /// <param name="values">The values.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void WriteVector(string path, IReadOnlyList<double> values, bool overwrite = false) =>
            Write(path, NdArray.FromVector(Check.NotNull(values, nameof(values))), overwrite);

        /// <summary>Reads a 1-D <c>.npy</c> file as float64 values (float32, integer and bool elements are converted).</summary>
        /// <param name="path">The file.</param>
        /// <returns>The values.</returns>
        /// <exception cref="EntkFormatException">The file is invalid or its array is not 1-D.</exception>
        public static double[] ReadVector(string path)
        {
            var a = Read(path);
            if (a.Rank != 1)
                throw new EntkFormatException(path, "expected a 1-D array (a vector), found shape " + Check.Shape(a.Shape) + ".");
            return ToDoubles(a, path);
        }

        private static double[] ToDoubles(NdArray a, string path)
        {
            try { return a.ToDoubleArray(); }
            catch (InvalidOperationException e) { throw new EntkFormatException(path, e.Message, e); }
        }

        // ------------------------------------------------------------------ writing

        internal static byte[] BuildHeader(NdArray a)
        {
            var shape = a.Shape;
            string shapeRepr = shape.Count switch
            {
                0 => "()",
                1 => "(" + Inv(shape[0]) + ",)",
                _ => "(" + string.Join(", ", ToStrings(shape)) + ")",
            };
            var sb = new StringBuilder();
            sb.Append("{'descr': '").Append(a.Descr).Append("', 'fortran_order': False, 'shape': ").Append(shapeRepr).Append(", }");
            if (shape.Count > 0) sb.Append(' ', Math.Max(0, GrowthAxisMaxDigits - Inv(shape[0]).Length));
            byte[] dict = Encoding.ASCII.GetBytes(sb.ToString());
            // numpy: hlen = len(header) + 1 (newline); pad = 64 − ((magic 6 + version 2 + length field + hlen) mod 64).
            int version = 1, lenField = 2;
            int hlen = dict.Length + 1;
            int pad = ArrayAlign - ((8 + lenField + hlen) % ArrayAlign);
            if (hlen + pad > ushort.MaxValue)
            {
                version = 2; lenField = 4;
                pad = ArrayAlign - ((8 + lenField + hlen) % ArrayAlign);
            }
            int total = 8 + lenField + hlen + pad;
            var h = new byte[total];
            Magic.CopyTo(h, 0);
            h[6] = (byte)version;
            h[7] = 0;
            int body = hlen + pad;
            if (lenField == 2) { h[8] = (byte)body; h[9] = (byte)(body >> 8); }
            else { h[8] = (byte)body; h[9] = (byte)(body >> 8); h[10] = (byte)(body >> 16); h[11] = (byte)(body >> 24); }
            int o = 8 + lenField;
            dict.CopyTo(h, o);
            for (int i = o + dict.Length; i < total - 1; i++) h[i] = (byte)' ';
            h[total - 1] = (byte)'\n';
            return h;
        }

        private static IEnumerable<string> ToStrings(IReadOnlyList<int> shape)
        {
            foreach (int d in shape) yield return Inv(d);
        }

        private static string Inv(long v) => v.ToString(CultureInfo.InvariantCulture);

        internal static void WriteCore(Stream s, NdArray a)
        {
            var h = BuildHeader(a);
            s.Write(h, 0, h.Length);
            switch (a.RawData)
            {
                case double[] d: WriteElements(s, d); break;
                case float[] f: WriteElements(s, f); break;
                case long[] l: WriteElements(s, l); break;
                case int[] n: WriteElements(s, n); break;
                case bool[] b: WriteElements(s, b); break;
                case byte[] u: WriteElements(s, u); break;
                default: throw new InvalidOperationException("internal: unknown storage");
            }
        }

        private const int ChunkBytes = 1 << 20;

        private static void WriteElements<T>(Stream s, T[] data) where T : unmanaged
        {
            int size = Marshal.SizeOf<T>();
            int chunk = ChunkBytes / size;
            byte[]? swap = BitConverter.IsLittleEndian || size == 1 ? null : new byte[ChunkBytes];
            for (int i = 0; i < data.Length; i += chunk)
            {
                int n = Math.Min(chunk, data.Length - i);
                ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(data.AsSpan(i, n));
                if (swap is null) { s.Write(bytes); continue; }
                bytes.CopyTo(swap);
                for (int k = 0; k < n; k++) Array.Reverse(swap, k * size, size);
                s.Write(swap, 0, n * size);
            }
        }

        // ------------------------------------------------------------------ reading

        /// <summary>
        /// Reads one array. <paramref name="available"/> is the number of bytes from the current
        /// position to the end of the input when known; with <paramref name="exact"/> the array must
        /// end exactly there.
        /// </summary>
        internal static NdArray ReadCore(Stream s, long? available, FormatSource src, bool exact = true)
        {
            var pre = new byte[8];
            int got = ReadFull(s, pre);
            if (got < 6 || !pre.AsSpan(0, 6).SequenceEqual(Magic))
            {
                int m = Math.Min(got, 6);
                if (got < 6 && pre.AsSpan(0, m).SequenceEqual(Magic.AsSpan(0, m)))
                    throw src.Fail(Inv(got) + " bytes is too short for a .npy file (empty or truncated).");
                throw src.Fail("not a .npy file: it does not start with the magic bytes \\x93NUMPY (found " + Hex(pre.AsSpan(0, m)) + ").");
            }
            if (got < 8) throw src.Fail("truncated inside the .npy preamble (" + Inv(got) + " bytes).");
            int major = pre[6], minor = pre[7];
            int lenField;
            if (major == 1 && minor == 0) lenField = 2;
            else if ((major == 2 || major == 3) && minor == 0) lenField = 4;
            else throw src.Fail("unsupported .npy format version " + Inv(major) + "." + Inv(minor) + " (supported: 1.0, 2.0, 3.0).");

            var lb = new byte[4];
            if (ReadFull(s, lb.AsSpan(0, lenField)) < lenField) throw src.Fail("truncated inside the header length field.");
            long hlen = lenField == 2 ? lb[0] | (lb[1] << 8) : (long)(lb[0] | (lb[1] << 8) | (lb[2] << 16)) | ((long)lb[3] << 24);
            long headerEnd = 8 + lenField + hlen;
            if (available is long av0 && headerEnd > av0)
                throw src.Fail("truncated: the header declares " + Inv(hlen) + " header bytes but the input holds only " + Inv(Math.Max(0, av0 - 8 - lenField)) + " after the length field.");
            if (hlen > MaxHeaderLength)
                throw src.Fail("header length " + Inv(hlen) + " exceeds the limit of " + Inv(MaxHeaderLength) + " bytes.");
            var hb = new byte[hlen];
            int hgot = ReadFull(s, hb);
            if (hgot < hlen) throw src.Fail("truncated inside the header (" + Inv(hgot) + " of " + Inv(hlen) + " bytes).");
            string text;
            if (major == 3)
            {
                try { text = new UTF8Encoding(false, true).GetString(hb); }
                catch (DecoderFallbackException) { throw src.Fail("the version 3.0 header is not valid UTF-8."); }
            }
            else text = Encoding.Latin1.GetString(hb);

            var header = HeaderParser.Parse(text, src);
            long count = NdArray.ElementCountOf(header.Shape);
            if (count > Array.MaxLength)
                throw src.Fail("shape " + Check.Shape(header.Shape) + " has more elements than a .NET array can hold (" + Inv(Array.MaxLength) + ").");
            long nbytes = count * NdArray.ItemSizeOf(header.Type);
            string what = "shape " + Check.Shape(header.Shape) + " " + NdArray.NumpyName(header.Type);
            if (available is long av)
            {
                long rest = av - headerEnd;
                if (rest < nbytes)
                    throw src.Fail("truncated: " + what + " needs " + Inv(nbytes) + " data bytes but only " + Inv(rest) + " follow the header.");
                if (exact && rest > nbytes)
                    throw src.Fail(Inv(rest - nbytes) + " unexpected bytes after the array data (" + what + " needs " + Inv(nbytes) + " data bytes, " + Inv(rest) + " follow the header).");
            }

            int n = (int)count;
            Array data = header.Type switch
            {
                ElementType.Float64 => ReadElements(s, new double[n], src, what),
                ElementType.Float32 => ReadElements(s, new float[n], src, what),
                ElementType.Int64 => ReadElements(s, new long[n], src, what),
                ElementType.Int32 => ReadElements(s, new int[n], src, what),
                ElementType.UInt8 => ReadElements(s, new byte[n], src, what),
                ElementType.Bool => ReadBools(s, n, src, what),
                _ => throw new InvalidOperationException("internal: unknown type"),
            };
            if (header.FortranOrder && header.Shape.Length > 1) data = FortranToC(data, header.Shape);
            return NdArray.Wrap(header.Type, header.Shape, data);
        }

        private static string Hex(ReadOnlySpan<byte> b)
        {
            if (b.Length == 0) return "an empty input";
            var sb = new StringBuilder();
            foreach (byte x in b) sb.Append(sb.Length == 0 ? "" : " ").Append(x.ToString("x2", CultureInfo.InvariantCulture));
            return sb.ToString();
        }

        /// <summary>Reads until the span is full or the stream ends; returns the bytes read.</summary>
        internal static int ReadFull(Stream s, Span<byte> buffer)
        {
            int total = 0;
            while (total < buffer.Length)
            {
                int n = s.Read(buffer.Slice(total));
                if (n <= 0) break;
                total += n;
            }
            return total;
        }

        private static T[] ReadElements<T>(Stream s, T[] dest, FormatSource src, string what) where T : unmanaged
        {
            int size = Marshal.SizeOf<T>();
            int chunk = ChunkBytes / size;
            long done = 0;
            for (int i = 0; i < dest.Length; i += chunk)
            {
                int n = Math.Min(chunk, dest.Length - i);
                Span<byte> bytes = MemoryMarshal.AsBytes(dest.AsSpan(i, n));
                int got = ReadFull(s, bytes);
                done += got;
                if (got < bytes.Length)
                    throw src.Fail("truncated: " + what + " needs " + Inv((long)dest.Length * size) + " data bytes but the input ends after " + Inv(done) + ".");
                if (!BitConverter.IsLittleEndian && size > 1)
                    for (int k = 0; k < n; k++) bytes.Slice(k * size, size).Reverse();
            }
            return dest;
        }

        private static bool[] ReadBools(Stream s, int count, FormatSource src, string what)
        {
            var dest = new bool[count];
            var buf = new byte[Math.Min(ChunkBytes, Math.Max(count, 1))];
            for (int i = 0; i < count; i += buf.Length)
            {
                int n = Math.Min(buf.Length, count - i);
                int got = ReadFull(s, buf.AsSpan(0, n));
                if (got < n)
                    throw src.Fail("truncated: " + what + " needs " + Inv(count) + " data bytes but the input ends after " + Inv((long)i + got) + ".");
                for (int k = 0; k < n; k++)
                {
                    byte b = buf[k];
                    if (b > 1) throw src.Fail("bool element at flat index " + Inv((long)i + k) + " has byte value 0x" + b.ToString("x2", CultureInfo.InvariantCulture) + " (must be 0 or 1); the data is corrupt.");
                    dest[i + k] = b == 1;
                }
            }
            return dest;
        }

        private static Array FortranToC(Array data, int[] shape) => data switch
        {
            double[] d => FortranToC(d, shape),
            float[] f => FortranToC(f, shape),
            long[] l => FortranToC(l, shape),
            int[] n => FortranToC(n, shape),
            bool[] b => FortranToC(b, shape),
            byte[] u => FortranToC(u, shape),
            _ => throw new InvalidOperationException("internal: unknown storage"),
        };

        /// <summary>Reorders column-major (first index fastest) data into row-major order.</summary>
        internal static T[] FortranToC<T>(T[] src, int[] shape)
        {
            int rank = shape.Length;
            var dst = new T[src.Length];
            if (src.Length == 0) return dst;
            var cStride = new long[rank];
            long st = 1;
            for (int k = rank - 1; k >= 0; k--) { cStride[k] = st; st *= shape[k]; }
            var idx = new int[rank];
            long c = 0;
            for (long f = 0; f < src.Length; f++)
            {
                dst[c] = src[f];
                for (int k = 0; k < rank; k++)
                {
                    idx[k]++;
                    c += cStride[k];
                    if (idx[k] < shape[k]) break;
                    c -= cStride[k] * idx[k];
                    idx[k] = 0;
                }
            }
            return dst;
        }

        // ------------------------------------------------------------------ header parsing

        internal sealed class Header
        {
            public Header(ElementType type, bool fortranOrder, int[] shape)
            {
                Type = type;
                FortranOrder = fortranOrder;
                Shape = shape;
            }

            public ElementType Type { get; }
            public bool FortranOrder { get; }
            public int[] Shape { get; }
        }

        /// <summary>
        /// Parser for the subset of Python literal syntax numpy writes in headers:
        /// <c>{'descr': '&lt;f8', 'fortran_order': False, 'shape': (3, 4), }</c> with any whitespace,
        /// either quote style, keys in any order and optional trailing commas.
        /// </summary>
        internal sealed class HeaderParser
        {
            private readonly string _s;
            private readonly FormatSource _src;
            private int _p;

            private HeaderParser(string s, FormatSource src)
            {
                _s = s;
                _src = src;
            }

            private sealed class Tuple
            {
                public Tuple(List<long> items) => Items = items;
                public List<long> Items { get; }
            }

            private sealed class Other
            {
                public Other(string what) => What = what;
                public string What { get; }
            }

            public static Header Parse(string text, FormatSource src) => new HeaderParser(text, src).ParseHeader();

            private EntkFormatException Bad(string problem) =>
                _src.Fail("malformed header: " + problem + " (header: " + Snippet() + ").");

            private string Snippet()
            {
                string t = _s.TrimEnd(' ', '\n', '\r', '\t');
                if (t.Length > 120) t = t.Substring(0, 120) + "...";
                var sb = new StringBuilder("\"");
                foreach (char ch in t)
                {
                    if (ch >= 0x20 && ch < 0x7f) sb.Append(ch);
                    else sb.Append("\\x").Append(((int)ch).ToString("x2", CultureInfo.InvariantCulture));
                }
                return sb.Append('"').ToString();
            }

            private void SkipWs()
            {
                while (_p < _s.Length && (_s[_p] == ' ' || _s[_p] == '\t' || _s[_p] == '\n' || _s[_p] == '\r')) _p++;
            }

            private char Peek() => _p < _s.Length ? _s[_p] : '\0';

            private string At() => _p < _s.Length ? "at offset " + Inv(_p) : "at the end of the header";

            private Header ParseHeader()
            {
                SkipWs();
                if (Peek() != '{') throw Bad("expected '{' " + At());
                _p++;
                var values = new Dictionary<string, object>(StringComparer.Ordinal);
                while (true)
                {
                    SkipWs();
                    if (Peek() == '}') { _p++; break; }
                    if (Peek() != '\'' && Peek() != '"') throw Bad("expected a quoted key or '}' " + At());
                    string key = ParseString();
                    SkipWs();
                    if (Peek() != ':') throw Bad("expected ':' after key '" + key + "' " + At());
                    _p++;
                    object value = ParseValue();
                    if (values.ContainsKey(key)) throw Bad("duplicate key '" + key + "'");
                    values[key] = value;
                    SkipWs();
                    if (Peek() == ',') { _p++; continue; }
                    if (Peek() == '}') { _p++; break; }
                    throw Bad("expected ',' or '}' " + At());
                }
                SkipWs();
                if (_p != _s.Length) throw Bad("unexpected text after the closing '}' " + At());

                foreach (var k in values.Keys)
                    if (k != "descr" && k != "fortran_order" && k != "shape")
                        throw Bad("unexpected key '" + k + "' (a .npy header has exactly 'descr', 'fortran_order' and 'shape')");
                foreach (var k in new[] { "descr", "fortran_order", "shape" })
                    if (!values.ContainsKey(k)) throw Bad("missing key '" + k + "'");

                if (values["descr"] is not string descr)
                    throw _src.Fail("unsupported dtype: 'descr' is " + Describe(values["descr"]) + "; structured and record dtypes are not supported (supported: " + Supported + ").");
                var type = ParseDescr(descr);
                if (values["fortran_order"] is not bool fortran)
                    throw Bad("'fortran_order' must be True or False, got " + Describe(values["fortran_order"]));
                if (values["shape"] is not Tuple t)
                    throw Bad("'shape' must be a tuple of non-negative integers, got " + Describe(values["shape"]));
                if (t.Items.Count > NdArray.MaxRank)
                    throw _src.Fail("unsupported rank " + Inv(t.Items.Count) + " (at most " + Inv(NdArray.MaxRank) + " axes).");
                var shape = new int[t.Items.Count];
                for (int i = 0; i < shape.Length; i++)
                {
                    long d = t.Items[i];
                    if (d < 0) throw Bad("negative axis length " + Inv(d) + " in 'shape'");
                    if (d > int.MaxValue) throw _src.Fail("axis length " + Inv(d) + " exceeds the supported maximum " + Inv(int.MaxValue) + ".");
                    shape[i] = (int)d;
                }
                return new Header(type, fortran, shape);
            }

            private const string Supported = "<f8, <f4, <i8, <i4, |b1, |u1";

            private ElementType ParseDescr(string d)
            {
                switch (d)
                {
                    case "<f8": return ElementType.Float64;
                    case "<f4": return ElementType.Float32;
                    case "<i8": return ElementType.Int64;
                    case "<i4": return ElementType.Int32;
                    case "|b1": case "<b1": case ">b1": case "=b1": return ElementType.Bool;
                    case "|u1": case "<u1": case ">u1": case "=u1": return ElementType.UInt8;
                }
                string shown = Snip(d);
                if (d.Length > 1 && d[0] == '>')
                    throw _src.Fail("unsupported dtype '" + shown + "': big-endian data is not supported; convert with arr.astype('<" + Snip(d.Substring(1)) + "') (supported: " + Supported + ").");
                throw _src.Fail("unsupported dtype '" + shown + "' (supported: " + Supported + ").");
            }

            private static string Snip(string d)
            {
                var sb = new StringBuilder();
                foreach (char ch in d.Length > 40 ? d.Substring(0, 40) : d)
                    sb.Append(ch >= 0x20 && ch < 0x7f ? ch.ToString() : "\\x" + ((int)ch).ToString("x2", CultureInfo.InvariantCulture));
                return sb.ToString();
            }

            private static string Describe(object v) => v switch
            {
                string s => "the string '" + Snip(s) + "'",
                bool b => b ? "True" : "False",
                long l => "the integer " + Inv(l),
                Tuple t => "a tuple of " + Inv(t.Items.Count) + " integers",
                Other o => o.What,
                _ => "an unsupported value",
            };

            private object ParseValue()
            {
                SkipWs();
                char c = Peek();
                if (c == '\'' || c == '"') return ParseString();
                if (c == '(') return ParseTuple();
                if (c == '-' || (c >= '0' && c <= '9')) return ParseInt();
                if (c == '[') { SkipBracketed('[', ']'); return new Other("a list"); }
                if (c == '{') { SkipBracketed('{', '}'); return new Other("a dict"); }
                if (char.IsAsciiLetter(c) || c == '_')
                {
                    int start = _p;
                    while (_p < _s.Length && (char.IsAsciiLetterOrDigit(_s[_p]) || _s[_p] == '_')) _p++;
                    string id = _s.Substring(start, _p - start);
                    if (id == "True") return true;
                    if (id == "False") return false;
                    if (id == "None") return new Other("None");
                    throw Bad("unknown name '" + Snip(id) + "'");
                }
                throw Bad("expected a value " + At());
            }

            private void SkipBracketed(char open, char close)
            {
                int depth = 0;
                while (_p < _s.Length)
                {
                    char ch = _s[_p];
                    if (ch == '\'' || ch == '"') { ParseString(); continue; }
                    _p++;
                    if (ch == open) depth++;
                    else if (ch == close && --depth == 0) return;
                }
                throw Bad("unterminated '" + open + "'");
            }

            private string ParseString()
            {
                char q = _s[_p++];
                int start = _p;
                while (_p < _s.Length && _s[_p] != q)
                {
                    if (_s[_p] == '\\') throw Bad("escape sequences are not supported in header strings");
                    if (_s[_p] == '\n' || _s[_p] == '\r') throw Bad("unterminated string");
                    _p++;
                }
                if (_p >= _s.Length) throw Bad("unterminated string");
                string r = _s.Substring(start, _p - start);
                _p++;
                return r;
            }

            private long ParseInt()
            {
                bool neg = false;
                if (Peek() == '-') { neg = true; _p++; SkipWs(); }
                int start = _p;
                while (_p < _s.Length && _s[_p] >= '0' && _s[_p] <= '9') _p++;
                int len = _p - start;
                if (len == 0) throw Bad("expected digits " + At());
                if (len > 1 && _s[start] == '0') throw Bad("integer with a leading zero " + At());
                if (Peek() == 'L' || Peek() == 'l') _p++; // Python 2 long suffix, written by old numpy
                if (len > 18) throw _src.Fail("axis length " + Snip(_s.Substring(start, len)) + " is too large.");
                long v = long.Parse(_s.AsSpan(start, len), NumberStyles.None, CultureInfo.InvariantCulture);
                return neg ? -v : v;
            }

            private Tuple ParseTuple()
            {
                _p++; // '('
                var items = new List<long>();
                bool trailingComma = false;
                while (true)
                {
                    SkipWs();
                    if (Peek() == ')') { _p++; break; }
                    if (items.Count > NdArray.MaxRank) throw _src.Fail("unsupported rank: the shape has more than " + Inv(NdArray.MaxRank) + " axes.");
                    object v = ParseValue();
                    if (v is not long l) throw Bad("'shape' must contain integers, found " + Describe(v));
                    items.Add(l);
                    SkipWs();
                    trailingComma = false;
                    if (Peek() == ',') { _p++; trailingComma = true; continue; }
                    if (Peek() == ')') { _p++; break; }
                    throw Bad("expected ',' or ')' in 'shape' " + At());
                }
                if (items.Count == 1 && !trailingComma)
                    throw Bad("'shape' (" + Inv(items[0]) + ") is a parenthesised integer, not a tuple; a 1-D shape is written (" + Inv(items[0]) + ",)");
                return new Tuple(items);
            }
        }
    }

    /// <summary>Where a parsed byte stream came from, for error messages.</summary>
    internal sealed class FormatSource
    {
        public FormatSource(string path, string prefix = "")
        {
            Path = path;
            Prefix = prefix;
        }

        public string Path { get; }

        public string Prefix { get; }

        public FormatSource Entry(string entryName) => new(Path, Prefix + "entry '" + entryName + "': ");

        public EntkFormatException Fail(string problem, Exception? inner = null) => new(Path, Prefix + problem, inner);
    }
}
