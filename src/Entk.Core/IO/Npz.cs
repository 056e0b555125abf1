using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Entk.Internal;

namespace Entk.IO
{
    /// <summary>
    /// Reads and writes numpy's <c>.npz</c> archives: a ZIP file with one <c>&lt;name&gt;.npy</c>
    /// entry per array, as written by <c>np.savez</c> (stored) and <c>np.savez_compressed</c>
    /// (deflate). Files written here load with <c>np.load(path)</c>; archives written by numpy read
    /// here with their entry order kept.
    /// </summary>
    /// <remarks>
    /// Writing: entries are written in the given order, uncompressed unless <c>compress</c> is true,
    /// with a fixed timestamp (1980-01-01 00:00) so equal inputs give byte-identical files; the file
    /// is replaced atomically (<see cref="AtomicFile"/>).
    /// Reading uses a strict ZIP reader: every local header must agree with the central directory
    /// (name, method, CRC, sizes), entries must not overlap, and every entry's CRC-32 is verified
    /// (.NET's ZipArchive checks neither). So a corrupted byte in any name, array header or array data
    /// raises <see cref="EntkFormatException"/>, as do truncated archives, entries whose name does not
    /// end in <c>.npy</c>, duplicate names and invalid <c>.npy</c> content. Bytes that no ZIP reader
    /// uses (timestamps, attributes, version fields) can change without changing what is read.
    /// </remarks>
    public static class Npz
    {
        /// <summary>The fixed entry timestamp used for reproducible archives.</summary>
        private static readonly DateTimeOffset FixedTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

        /// <summary>Writes named arrays to an <c>.npz</c> archive atomically, in list order.</summary>
        /// <param name="path">Target path.</param>
        /// <param name="arrays">The arrays; names must be unique and valid (see <see cref="ValidateName"/>).</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <param name="compress">Deflate the entries (as <c>np.savez_compressed</c>); default stored (as <c>np.savez</c>).</param>
        /// <exception cref="EntkArgumentException">A name is invalid or repeated.</exception>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void Write(string path, IReadOnlyList<NamedArray> arrays, bool overwrite = false, bool compress = false)
        {
            Check.NotNull(path, nameof(path));
            var list = Validate(arrays, nameof(arrays));
            AtomicFile.Write(path, s => WriteCore(s, list, compress), overwrite);
        }

        /// <summary>Writes a dictionary of arrays to an <c>.npz</c> archive atomically, in the dictionary's enumeration order.</summary>
        /// <param name="path">Target path.</param>
        /// <param name="arrays">Name → array.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <param name="compress">Deflate the entries; default stored.</param>
        /// <exception cref="EntkArgumentException">A name is invalid.</exception>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void Write(string path, IReadOnlyDictionary<string, NdArray> arrays, bool overwrite = false, bool compress = false) =>
            Write(path, FromDictionary(arrays), overwrite, compress);

        /// <summary>Writes named arrays as an <c>.npz</c> archive to a stream (left open), in list order.</summary>
        /// <param name="stream">A writable stream; seekable streams give the most compact archives.</param>
        /// <param name="arrays">The arrays.</param>
        /// <param name="compress">Deflate the entries; default stored.</param>
        /// <exception cref="EntkArgumentException">A name is invalid or repeated.</exception>
        public static void Write(Stream stream, IReadOnlyList<NamedArray> arrays, bool compress = false)
        {
            Check.NotNull(stream, nameof(stream));
            WriteCore(stream, Validate(arrays, nameof(arrays)), compress);
        }

        /// <summary>Reads an <c>.npz</c> archive, verifying every entry.</summary>
        /// <param name="path">The file.</param>
        /// <returns>The arrays, in archive order.</returns>
        /// <exception cref="EntkFormatException">The file is not a valid archive of supported <c>.npy</c> arrays.</exception>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        public static NpzArchive Read(string path)
        {
            Check.NotNull(path, nameof(path));
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return ReadCore(fs, new FormatSource(path), path);
        }

        /// <summary>Reads an <c>.npz</c> archive from a stream (left open), verifying every entry.</summary>
        /// <param name="stream">A readable stream holding the whole archive (seekable streams avoid a copy).</param>
        /// <param name="sourceName">Name used in error messages and as <see cref="NpzArchive.Source"/>.</param>
        /// <returns>The arrays, in archive order.</returns>
        /// <exception cref="EntkFormatException">The data is not a valid archive of supported <c>.npy</c> arrays.</exception>
        public static NpzArchive Read(Stream stream, string sourceName = "stream")
        {
            Check.NotNull(stream, nameof(stream));
            Check.NotNull(sourceName, nameof(sourceName));
            return ReadCore(stream, new FormatSource(sourceName), sourceName);
        }

        /// <summary>
        /// Checks an array name for use in an archive: non-empty, at most 200 characters, no control
        /// characters or backslashes, and, read as a '/'-separated path, no leading '/', no empty,
        /// "." or ".." segment (so archives never extract outside their folder).
        /// </summary>
        /// <param name="name">The name.</param>
        /// <exception cref="EntkArgumentException">The name is not allowed.</exception>
        public static void ValidateName(string name)
        {
            Check.NotNull(name, nameof(name));
            string? problem = NameProblem(name);
            if (problem != null)
                throw new EntkArgumentException(nameof(name), "a non-empty array name of printable characters without '\\', empty, '.' or '..' path segments, at most 200 characters", "'" + name + "' (" + problem + ")");
        }

        internal static string? NameProblem(string name)
        {
            if (name.Length == 0) return "empty";
            if (name.Length > 200) return "longer than 200 characters";
            foreach (char c in name)
            {
                if (char.IsControl(c)) return "contains a control character";
                if (c == '\\') return "contains a backslash";
            }
            foreach (var seg in name.Split('/'))
            {
                if (seg.Length == 0) return "has an empty path segment";
                if (seg == "." || seg == "..") return "has a '" + seg + "' path segment";
            }
            return null;
        }

        private static List<NamedArray> FromDictionary(IReadOnlyDictionary<string, NdArray> arrays)
        {
            Check.NotNull(arrays, nameof(arrays));
            var list = new List<NamedArray>(arrays.Count);
            foreach (var kv in arrays)
            {
                if (kv.Value is null) throw new EntkArgumentException(nameof(arrays), "an array for every name", "null for '" + kv.Key + "'");
                list.Add(new NamedArray(kv.Key, kv.Value));
            }
            return list;
        }

        private static List<NamedArray> Validate(IReadOnlyList<NamedArray> arrays, string paramName)
        {
            Check.NotNull(arrays, paramName);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var list = new List<NamedArray>(arrays.Count);
            for (int i = 0; i < arrays.Count; i++)
            {
                var a = arrays[i] ?? throw new EntkArgumentException(paramName, "non-null entries", Check.Inv($"null at index {i}"));
                string? problem = NameProblem(a.Name);
                if (problem != null)
                    throw new EntkArgumentException(paramName, "valid array names (see Npz.ValidateName)", "'" + a.Name + "' at index " + Check.Inv($"{i}") + " (" + problem + ")");
                if (!seen.Add(a.Name))
                    throw new EntkArgumentException(paramName, "unique array names", "'" + a.Name + "' twice");
                list.Add(a);
            }
            return list;
        }

        internal static void WriteCore(Stream s, IReadOnlyList<NamedArray> arrays, bool compress)
        {
            using var zip = new ZipArchive(s, ZipArchiveMode.Create, leaveOpen: true);
            foreach (var a in arrays)
            {
                var e = zip.CreateEntry(a.Name + ".npy", compress ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
                e.LastWriteTime = FixedTime;
                using var es = e.Open();
                Npy.WriteCore(es, a.Array);
            }
        }

        private static NpzArchive ReadCore(Stream stream, FormatSource src, string sourceName)
        {
            var arrays = new List<NamedArray>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var zip = ZipReader.Open(ZipReader.Seekable(stream), src);
            foreach (var e in zip.Entries)
            {
                string name = e.Name;
                if (!name.EndsWith(".npy", StringComparison.Ordinal))
                    throw src.Fail("entry '" + name + "' is not a .npy array (an .npz archive holds only '<name>.npy' entries).");
                string key = name.Substring(0, name.Length - 4);
                if (key.Length == 0) throw src.Fail("entry '.npy' has an empty array name.");
                if (!seen.Add(key)) throw src.Fail("entry '" + name + "' occurs twice.");
                var array = zip.Read(e, (s, len, esrc) => Npy.ReadCore(s, len, esrc));
                arrays.Add(new NamedArray(key, array));
            }
            return new NpzArchive(sourceName, arrays);
        }
    }

    /// <summary>
    /// The arrays of an <c>.npz</c> archive, immutable, in archive order. Look arrays up by name
    /// (the entry name without <c>.npy</c>, as numpy's <c>np.load(path)[name]</c>).
    /// </summary>
    public sealed class NpzArchive
    {
        private readonly NamedArray[] _arrays;
        private readonly Dictionary<string, NdArray> _byName;

        internal NpzArchive(string source, IReadOnlyList<NamedArray> arrays)
        {
            Source = source;
            _arrays = arrays.ToArray();
            _byName = new Dictionary<string, NdArray>(StringComparer.Ordinal);
            foreach (var a in _arrays) _byName[a.Name] = a.Array;
            Names = Array.AsReadOnly(_arrays.Select(a => a.Name).ToArray());
            Arrays = Array.AsReadOnly(_arrays);
        }

        /// <summary>The file (or stream name) the archive was read from.</summary>
        public string Source { get; }

        /// <summary>Array names in archive order.</summary>
        public IReadOnlyList<string> Names { get; }

        /// <summary>The named arrays in archive order (suitable for <see cref="Npz.Write(string, IReadOnlyList{NamedArray}, bool, bool)"/>).</summary>
        public IReadOnlyList<NamedArray> Arrays { get; }

        /// <summary>Number of arrays.</summary>
        public int Count => _arrays.Length;

        /// <summary>Whether the archive holds an array of this name.</summary>
        /// <param name="name">Array name (without <c>.npy</c>).</param>
        /// <returns>True when present.</returns>
        public bool ContainsKey(string name) => name != null && _byName.ContainsKey(name);

        /// <summary>The array of this name.</summary>
        /// <param name="name">Array name (without <c>.npy</c>).</param>
        /// <exception cref="EntkArgumentException">No array has this name; the message lists the names present.</exception>
        public NdArray this[string name]
        {
            get
            {
                Check.NotNull(name, nameof(name));
                if (_byName.TryGetValue(name, out var a)) return a;
                string available = _arrays.Length == 0 ? "none (the archive is empty)" : string.Join(", ", Names.Select(n => "'" + n + "'"));
                throw new EntkArgumentException(nameof(name), "the name of an array in '" + Source + "' (available: " + available + ")", "'" + name + "'");
            }
        }

        /// <summary>For example "NpzArchive 'w.npz' [W, b]".</summary>
        /// <returns>The description.</returns>
        public override string ToString() => "NpzArchive '" + Source + "' [" + string.Join(", ", Names) + "]";
    }
}
