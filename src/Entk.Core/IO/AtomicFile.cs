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
            string full = Path.GetFullPath(path);
            if (!overwrite && File.Exists(full)) throw new OutputExistsException(full);
            string dir = Path.GetDirectoryName(full) ?? ".";
            Directory.CreateDirectory(dir);
            string tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp");
            try
            {
                using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    write(fs);
                    fs.Flush(true);
                }
                if (!overwrite && File.Exists(full)) throw new OutputExistsException(full);
                File.Move(tmp, full, overwrite);
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
        }
    }
}
