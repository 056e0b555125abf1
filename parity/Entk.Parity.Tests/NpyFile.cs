using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// A minimal, independent .npy reader for the parity tests (this assembly must not reference Entk, whose
    /// IO goes through the library that loads TorchSharp). C order, little-endian <c>&lt;f8</c> and <c>&lt;i8</c>
    /// are decoded; other dtypes keep only their raw bytes.
    /// </summary>
    internal sealed partial class NpyArray
    {
        private NpyArray(string descr, int[] shape, byte[] bytes, int dataOffset)
        {
            Descr = descr;
            Shape = shape;
            Bytes = bytes;
            DataOffset = dataOffset;
        }

        /// <summary>dtype string, e.g. &lt;f8.</summary>
        public string Descr { get; }

        /// <summary>Shape.</summary>
        public int[] Shape { get; }

        /// <summary>The whole file.</summary>
        public byte[] Bytes { get; }

        /// <summary>Offset of the first data byte.</summary>
        public int DataOffset { get; }

        /// <summary>Number of elements.</summary>
        public long Count => Shape.Aggregate(1L, (a, b) => a * b);

        /// <summary>float64 data (C order).</summary>
        public double[] Doubles
        {
            get
            {
                if (Descr != "<f8") throw new InvalidDataException("expected <f8, got " + Descr);
                var d = new double[Count];
                for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadDoubleLittleEndian(Bytes.AsSpan(DataOffset + 8 * i, 8));
                return d;
            }
        }

        /// <summary>int64 data (C order).</summary>
        public long[] Int64s
        {
            get
            {
                if (Descr != "<i8") throw new InvalidDataException("expected <i8, got " + Descr);
                var d = new long[Count];
                for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadInt64LittleEndian(Bytes.AsSpan(DataOffset + 8 * i, 8));
                return d;
            }
        }

        /// <summary>Reads a .npy file.</summary>
        public static NpyArray Read(string path)
        {
            try
            {
                return Parse(File.ReadAllBytes(path));
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidDataException(path + ": " + ex.Message, ex);
            }
        }

        /// <summary>Parses .npy bytes.</summary>
        public static NpyArray Parse(byte[] b)
        {
            if (b.Length < 10 || b[0] != 0x93 || Encoding.ASCII.GetString(b, 1, 5) != "NUMPY") throw new InvalidDataException("not an NPY file");
            int major = b[6];
            int headerLength, headerStart;
            if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(8, 2)); headerStart = 10; }
            else if (major is 2 or 3) { headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8, 4))); headerStart = 12; }
            else throw new InvalidDataException("unsupported NPY version " + major);
            string header = Encoding.Latin1.GetString(b, headerStart, headerLength);
            var descr = DescrRegex().Match(header);
            var fortran = FortranRegex().Match(header);
            var shape = ShapeRegex().Match(header);
            if (!descr.Success || !fortran.Success || !shape.Success) throw new InvalidDataException("bad NPY header " + header);
            if (fortran.Groups[1].Value == "True") throw new InvalidDataException("fortran_order=True is not supported here");
            int[] dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(int.Parse).ToArray();
            var a = new NpyArray(descr.Groups[1].Value, dims, b, headerStart + headerLength);
            int itemSize = a.Descr.Length >= 3 && int.TryParse(a.Descr.AsSpan(2), out int s) ? s : 1;
            if (a.DataOffset + a.Count * itemSize != b.Length) throw new InvalidDataException("data length does not match the shape");
            return a;
        }

        /// <summary>Rewrites one float64 element of a .npy file in place (for the perturbation tests).</summary>
        public static (double Before, double After) Perturb(string path, long flatIndex, Func<double, double> change)
        {
            var a = Read(path);
            if (a.Descr != "<f8") throw new InvalidDataException(path + ": expected <f8");
            if (flatIndex < 0 || flatIndex >= a.Count) throw new ArgumentOutOfRangeException(nameof(flatIndex));
            var span = a.Bytes.AsSpan(a.DataOffset + 8 * checked((int)flatIndex), 8);
            double before = BinaryPrimitives.ReadDoubleLittleEndian(span);
            double after = change(before);
            BinaryPrimitives.WriteDoubleLittleEndian(span, after);
            File.WriteAllBytes(path, a.Bytes);
            return (before, after);
        }

        /// <summary>Rewrites all float64 data of a .npy file in place (same shape).</summary>
        public static void Rewrite(string path, Action<double[], int[]> change)
        {
            var a = Read(path);
            double[] d = a.Doubles;
            change(d, a.Shape);
            for (int i = 0; i < d.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(a.Bytes.AsSpan(a.DataOffset + 8 * i, 8), d[i]);
            File.WriteAllBytes(path, a.Bytes);
        }

        [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")]
        private static partial Regex DescrRegex();

        [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
        private static partial Regex FortranRegex();

        [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
        private static partial Regex ShapeRegex();
    }

    /// <summary>Reads every entry of an .npz archive (stored or deflated) with System.IO.Compression.</summary>
    internal static class NpzFile
    {
        public static IReadOnlyDictionary<string, NpyArray> Read(string path)
        {
            var result = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
            using var zip = ZipFile.OpenRead(path);
            foreach (var e in zip.Entries)
            {
                using var s = e.Open();
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                string name = e.FullName.EndsWith(".npy", StringComparison.Ordinal) ? e.FullName[..^4] : e.FullName;
                try
                {
                    result[name] = NpyArray.Parse(ms.ToArray());
                }
                catch (InvalidDataException ex)
                {
                    throw new InvalidDataException(path + "[" + e.FullName + "]: " + ex.Message, ex);
                }
            }
            return result;
        }
    }
}
