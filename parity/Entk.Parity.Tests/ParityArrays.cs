using System;
using System.IO;
using System.Linq;
using Entk.IO;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// The parity tests read the CLI's .npy/.npz files with Entk.Core (torch-free, so it can share this process with
    /// Python torch). These helpers insist on the dtype the CLI writes (a float64 file read as int64 or the reverse is a
    /// format regression, not something to convert silently) and edit files for the perturbation tests.
    /// </summary>
    internal static class ParityArrays
    {
        /// <summary>The float64 data of an array written as float64 (&lt;f8), C order.</summary>
        public static double[] Float64(this NdArray a) =>
            a.ElementType == ElementType.Float64 ? a.ToDoubleArray() : throw new InvalidDataException("expected <f8, got " + a.Descr);

        /// <summary>The int64 data of an array written as int64 (&lt;i8), C order.</summary>
        public static long[] Int64(this NdArray a) =>
            a.ElementType == ElementType.Int64 ? a.ToInt64Array() : throw new InvalidDataException("expected <i8, got " + a.Descr);

        /// <summary>Changes one float64 element of a .npy file (for the perturbation tests); returns the old value.</summary>
        public static double Perturb(string path, long flatIndex, Func<double, double> change)
        {
            var a = Npy.Read(path);
            var d = a.Float64();
            if (flatIndex < 0 || flatIndex >= d.Length) throw new ArgumentOutOfRangeException(nameof(flatIndex));
            double before = d[flatIndex];
            d[flatIndex] = change(before);
            Npy.Write(path, NdArray.FromDoubles(d, a.Shape.ToArray()), overwrite: true);
            return before;
        }

        /// <summary>Rewrites all float64 data of a .npy file (same shape).</summary>
        public static void Rewrite(string path, Action<double[], int[]> change)
        {
            var a = Npy.Read(path);
            double[] d = a.Float64();
            int[] shape = a.Shape.ToArray();
            change(d, shape);
            Npy.Write(path, NdArray.FromDoubles(d, shape), overwrite: true);
        }
    }
}
