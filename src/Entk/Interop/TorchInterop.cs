using Entk.Internal;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk
{
    /// <summary>
    /// Conversions between Entk's <see cref="Matrix"/> and TorchSharp's <see cref="Tensor"/>. Both directions copy the values:
    /// <see cref="ToTensor"/> returns a new float64 CPU tensor with storage of its own that the caller owns (dispose it, or
    /// create it inside a <c>torch.NewDisposeScope()</c>), and <see cref="ToEntkMatrix"/> reads a tensor's values into a new
    /// immutable matrix without keeping a reference to the tensor (which the caller still owns and may change or dispose).
    /// Autograd history is not carried over: the tensor from <see cref="ToTensor"/> does not require gradients, and
    /// <see cref="ToEntkMatrix"/> reads the values of a detached copy.
    /// </summary>
    /// <example>
    /// C#: <c>using var t = x.ToTensor(); var y = model.forward(t).ToEntkMatrix();</c>
    /// F#: <c>use t = x.ToTensor() in (t.mm(t.t())).ToEntkMatrix()</c>
    /// </example>
    public static class TorchInterop
    {
        /// <summary>A new float64 CPU tensor of shape [Rows, Columns] holding a copy of the matrix (row-major, contiguous).</summary>
        /// <param name="matrix">The matrix.</param>
        /// <returns>The tensor; the caller owns it.</returns>
        /// <exception cref="System.ArgumentNullException"><paramref name="matrix"/> is null.</exception>
        public static Tensor ToTensor(this Matrix matrix)
        {
            Check.NotNull(matrix, nameof(matrix));
            return torch.tensor(matrix.ToArray(), new long[] { matrix.Rows, matrix.Columns }, ScalarType.Float64);
        }

        /// <summary>
        /// A new matrix with the values of a 2-D real tensor, converted to float64 (from any floating or integer dtype) and
        /// copied to managed memory; the tensor may live on any device and need not be contiguous. The tensor is not changed
        /// or disposed.
        /// </summary>
        /// <param name="tensor">A 2-D tensor of a real (not complex, not bool) dtype.</param>
        /// <returns>The matrix, shape[0] × shape[1].</returns>
        /// <exception cref="System.ArgumentNullException"><paramref name="tensor"/> is null.</exception>
        /// <exception cref="ShapeMismatchException">The tensor is not 2-D, or has more than int.MaxValue rows or columns.</exception>
        /// <exception cref="EntkArgumentException">A complex or bool dtype.</exception>
        public static Matrix ToEntkMatrix(this Tensor tensor)
        {
            Check.NotNull(tensor, nameof(tensor));
            if (tensor.dim() != 2 || tensor.shape[0] > int.MaxValue || tensor.shape[1] > int.MaxValue)
                throw new ShapeMismatchException(nameof(tensor), "[rows, columns] (a 2-D tensor)", Check.Shape(tensor.shape));
            var dtype = tensor.dtype;
            if (dtype == ScalarType.Bool || tensor.is_complex())
                throw new EntkArgumentException(nameof(tensor), "a tensor of a real dtype (floating or integer)", "dtype " + dtype);
            using var scope = torch.NewDisposeScope();
            using var c = tensor.detach().to(ScalarType.Float64).cpu().contiguous();
            return Matrix.Wrap((int)tensor.shape[0], (int)tensor.shape[1], c.data<double>().ToArray());
        }
    }
}
