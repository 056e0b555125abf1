using System;
using System.IO;
using Entk.Internal;

namespace Entk.IO
{
    /// <summary>
    /// Atomic file output: data is written to a temporary file in the target's directory, flushed to
    /// disk, then renamed over the target, so a reader never sees a half-written file and an
    /// interrupted run leaves the previous file (or none) in place. An existing target is replaced only
    /// when <c>overwrite</c> is true; otherwise <see cref="OutputExistsException"/> is thrown and nothing changes.
    /// </summary>
    public static class AtomicFile
    {
        /// <summary>Writes bytes atomically.</summary>
        /// <param name="path">Target path (its directory is created if missing).</param>
        /// <param name="bytes">Content.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes, bool overwrite = false)
        {
            var copy = bytes.ToArray();
            Write(path, s => s.Write(copy, 0, copy.Length), overwrite);
        }

        /// <summary>Writes UTF-8 text (no BOM) atomically.</summary>
        /// <param name="path">Target path.</param>
        /// <param name="text">Content.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void WriteAllText(string path, string text, bool overwrite = false)
        {
            Check.NotNull(text, nameof(text));
            WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(text), overwrite);
        }

        /// <summary>Writes through a stream callback atomically.</summary>
        /// <param name="path">Target path.</param>
        /// <param name="write">Writes the content to the (temporary) stream.</param>
        /// <param name="overwrite">Whether an existing file may be replaced.</param>
        /// <exception cref="OutputExistsException">The file exists and overwrite is false.</exception>
        public static void Write(string path, Action<Stream> write, bool overwrite = false)
        {
            Check.NotNull(path, nameof(path));
            Check.NotNull(write, nameof(write));
            if (string.IsNullOrWhiteSpace(path)) throw new EntkArgumentException(nameof(path), "a file path", path.Length == 0 ? "an empty string" : "'" + path + "' (white space only)");
            if (path.IndexOf('\0') >= 0) throw new EntkArgumentException(nameof(path), "a file path without NUL characters", "a path containing NUL");
            string full = Path.GetFullPath(path);
            if (Directory.Exists(full)) throw new EntkArgumentException(nameof(path), "a file path", "'" + full + "', which is a folder");
            if (!overwrite && File.Exists(full)) throw new OutputExistsException(full);
            string dir = Path.GetDirectoryName(full) ?? ".";
            Directory.CreateDirectory(dir);
            string tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + TemporarySuffix);
            try
            {
                using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    write(fs);
                    fs.Flush(true);
                }
                FaultInjection.KillIfHit(FaultInjection.AtomicWriteBeforeRename);
                if (!overwrite && File.Exists(full)) throw new OutputExistsException(full);
                File.Move(tmp, full, overwrite);
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
        }

        private const string TemporarySuffix = ".tmp";

        /// <summary>
        /// Whether a file name is that of a temporary file an atomic write makes beside its target:
        /// <c>.&lt;target name&gt;.&lt;8 hex digits&gt;.tmp</c>. Only a process killed between writing and renaming leaves one behind.
        /// </summary>
        /// <param name="fileName">A file name (no folder).</param>
        /// <returns>True for an atomic-write temporary.</returns>
        public static bool IsTemporaryName(string fileName)
        {
            Check.NotNull(fileName, nameof(fileName));
            if (fileName.Length < 1 + 1 + 1 + 8 + TemporarySuffix.Length || fileName[0] != '.' || !fileName.EndsWith(TemporarySuffix, StringComparison.Ordinal)) return false;
            int hexEnd = fileName.Length - TemporarySuffix.Length;
            int hexStart = hexEnd - 8;
            if (fileName[hexStart - 1] != '.' || hexStart - 1 <= 1) return false;
            for (int i = hexStart; i < hexEnd; i++)
                if (!char.IsAsciiHexDigitLower(fileName[i]) && !char.IsAsciiDigit(fileName[i])) return false;
            return true;
        }

        /// <summary>
        /// Deletes the temporary files (<see cref="IsTemporaryName"/>) that atomic writes killed before their rename left in a
        /// folder and its sub-folders. Nothing else is touched. Call it only when no other process writes into the folder.
        /// </summary>
        /// <param name="folder">The folder (a missing folder holds nothing).</param>
        /// <returns>The full paths of the deleted files.</returns>
        public static System.Collections.Generic.IReadOnlyList<string> RemoveStaleTemporaries(string folder)
        {
            Check.NotNull(folder, nameof(folder));
            var removed = new System.Collections.Generic.List<string>();
            if (!Directory.Exists(folder)) return removed;
            foreach (var f in Directory.EnumerateFiles(folder, ".*" + TemporarySuffix, SearchOption.AllDirectories))
            {
                if (!IsTemporaryName(Path.GetFileName(f))) continue;
                File.Delete(f);
                removed.Add(f);
            }
            return removed;
        }
    }
}
