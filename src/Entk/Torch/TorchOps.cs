using System;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Torch
{
    /// <summary>
    /// The thin boundary to libtorch. Every TorchSharp call that can fail on bad shapes is preceded by
    /// a managed check (some native entry points abort the process instead of throwing; docs/platform-notes.md §1).
    /// Tensors created from managed arrays share memory with them: never write into them in place.
    /// </summary>
    internal static class TorchOps
    {
        public static Tensor ToTensor(Matrix m) =>
            torch.tensor(m.RawData, new long[] { m.Rows, m.Columns }, ScalarType.Float64);

        public static Tensor ToTensor(double[] data, params long[] shape) =>
            torch.tensor(data, shape, ScalarType.Float64);

        public static double[] ToArray(Tensor t)
        {
            using var c = t.detach().to(ScalarType.Float64).contiguous();
            return c.data<double>().ToArray();
        }

        public static Matrix ToMatrix(Tensor t)
        {
            if (t.dim() != 2) throw new InvalidOperationException("internal: ToMatrix needs a 2-D tensor");
            return Matrix.Wrap((int)t.shape[0], (int)t.shape[1], ToArray(t));
        }

        public static Matrix MatMul(Matrix a, Matrix b)
        {
            if (a.Columns != b.Rows) throw new InvalidOperationException("internal: matmul shapes");
            if (a.Rows == 0 || b.Columns == 0 || a.Columns == 0) return Matrix.Zeros(a.Rows, b.Columns);
            using var scope = torch.NewDisposeScope();
            return ToMatrix(ToTensor(a).mm(ToTensor(b)));
        }

        /// <summary>Runs a native operation and turns a libtorch error into an <see cref="EntkNativeException"/>.</summary>
        public static T Native<T>(string operation, Func<T> f)
        {
            try
            {
                return f();
            }
            catch (ExternalException e)
            {
                throw new EntkNativeException(operation, e);
            }
        }
    }
}
