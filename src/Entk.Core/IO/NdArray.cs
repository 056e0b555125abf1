using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Runtime.InteropServices;
using Entk.Internal;

namespace Entk.IO
{
    /// <summary>
    /// Element type of an <see cref="NdArray"/>. Each corresponds to one little-endian numpy dtype
    /// (see <see cref="NdArray.Descr"/>).
    /// </summary>
    public enum ElementType
    {
        /// <summary>64-bit IEEE float, numpy <c>'&lt;f8'</c> (<c>float64</c>).</summary>
        Float64,

        /// <summary>32-bit IEEE float, numpy <c>'&lt;f4'</c> (<c>float32</c>).</summary>
        Float32,

        /// <summary>Signed 64-bit integer, numpy <c>'&lt;i8'</c> (<c>int64</c>).</summary>
        Int64,

        /// <summary>Signed 32-bit integer, numpy <c>'&lt;i4'</c> (<c>int32</c>).</summary>
        Int32,

        /// <summary>Boolean stored as one byte 0 or 1, numpy <c>'|b1'</c> (<c>bool</c>).</summary>
        Bool,

        /// <summary>Unsigned byte, numpy <c>'|u1'</c> (<c>uint8</c>).</summary>
        UInt8,
    }

    /// <summary>
    /// An immutable n-dimensional array (rank 0 to <see cref="MaxRank"/>) in C (row-major) order:
    /// the last index varies fastest. It is the in-memory form of one <c>.npy</c> file or one entry of
    /// an <c>.npz</c> archive. Factories copy the caller's data and accessors return copies, so an
    /// instance never changes.
    /// </summary>
    /// <example>
    /// C#: <c>var a = NdArray.FromDoubles(new[] { 1.0, 2, 3, 4, 5, 6 }, 2, 3);</c>
    /// F#: <c>let a = NdArray.FromDoubles([| 1.0 .. 6.0 |], 2, 3)</c>
    /// </example>
    public sealed class NdArray
    {
        /// <summary>Largest supported rank (numpy 1.x's NPY_MAXDIMS).</summary>
        public const int MaxRank = 32;

        private readonly Array _data;
        private readonly int[] _shape;

        private NdArray(ElementType type, int[] shape, Array data)
        {
            ElementType = type;
            _shape = shape;
            _data = data;
            Shape = Array.AsReadOnly(shape);
        }

        /// <summary>The element type.</summary>
        public ElementType ElementType { get; }

        /// <summary>The shape (one length per axis; empty for a 0-D scalar).</summary>
        public IReadOnlyList<int> Shape { get; }

        /// <summary>Number of axes (0 for a scalar).</summary>
        public int Rank => _shape.Length;

        /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
        public int ElementCount => _data.Length;

        /// <summary>The numpy dtype string written to <c>.npy</c> headers, e.g. <c>"&lt;f8"</c>.</summary>
        public string Descr => DescrOf(ElementType);

        /// <summary>Bytes per element.</summary>
        public int ItemSize => ItemSizeOf(ElementType);

        /// <summary>Internal direct access to the backing array (never exposed).</summary>
        internal Array RawData => _data;

        // ------------------------------------------------------------------ factories

        /// <summary>Creates a float64 array (data copied, C order).</summary>
        /// <param name="data">Elements in C order; length must equal the product of <paramref name="shape"/>.</param>
        /// <param name="shape">Axis lengths; an empty shape means a 0-D scalar (data of length 1).</param>
        /// <returns>The array.</returns>
        /// <exception cref="ShapeMismatchException">The data length does not match the shape.</exception>
        public static NdArray FromDoubles(double[] data, params int[] shape) =>
            Create(ElementType.Float64, (double[])Check.NotNull(data, nameof(data)).Clone(), shape);

        /// <summary>Creates a float32 array (data copied, C order).</summary>
        /// <param name="data">Elements in C order.</param>
        /// <param name="shape">Axis lengths (empty for a scalar).</param>
        /// <returns>The array.</returns>
        /// <exception cref="ShapeMismatchException">The data length does not match the shape.</exception>
        public static NdArray FromSingles(float[] data, params int[] shape) =>
            Create(ElementType.Float32, (float[])Check.NotNull(data, nameof(data)).Clone(), shape);

        /// <summary>Creates an int64 array (data copied, C order).</summary>
        /// <param name="data">Elements in C order.</param>
        /// <param name="shape">Axis lengths (empty for a scalar).</param>
        /// <returns>The array.</returns>
        /// <exception cref="ShapeMismatchException">The data length does not match the shape.</exception>
        public static NdArray FromInt64s(long[] data, params int[] shape) =>
            Create(ElementType.Int64, (long[])Check.NotNull(data, nameof(data)).Clone(), shape);

        /// <summary>Creates an int32 array (data copied, C order).</summary>
        /// <param name="data">Elements in C order.</param>
        /// <param name="shape">Axis lengths (empty for a scalar).</param>
        /// <returns>The array.</returns>
        /// <exception cref="ShapeMismatchException">The data length does not match the shape.</exception>
        public static NdArray FromInt32s(int[] data, params int[] shape) =>
            Create(ElementType.Int32, (int[])Check.NotNull(data, nameof(data)).Clone(), shape);

        /// <summary>Creates a bool array (data copied, C order).</summary>
        /// <param name="data">Elements in C order.</param>
        /// <param name="shape">Axis lengths (empty for a scalar).</param>
        /// <returns>The array.</returns>
        /// <exception cref="ShapeMismatchException">The data length does not match the shape.</exception>
        public static NdArray FromBools(bool[] data, params int[] shape)
        {
            Check.NotNull(data, nameof(data));
            var copy = new bool[data.Length];
            for (int i = 0; i < data.Length; i++) copy[i] = data[i]; // normalises any non-0/1 bool byte
            return Create(ElementType.Bool, copy, shape);
        }

        /// <summary>Creates a uint8 array (data copied, C order).</summary>
        /// <param name="data">Elements in C order.</param>
        /// <param name="shape">Axis lengths (empty for a scalar).</param>
        /// <returns>The array.</returns>
        /// <exception cref="ShapeMismatchException">The data length does not match the shape.</exception>
        public static NdArray FromBytes(byte[] data, params int[] shape) =>
            Create(ElementType.UInt8, (byte[])Check.NotNull(data, nameof(data)).Clone(), shape);

        /// <summary>Creates a 1-D float64 array of the given values.</summary>
        /// <param name="values">The values.</param>
        /// <returns>An array of shape [values.Count].</returns>
        public static NdArray FromVector(IReadOnlyList<double> values)
        {
            Check.NotNull(values, nameof(values));
            var d = new double[values.Count];
            for (int i = 0; i < d.Length; i++) d[i] = values[i];
            return new NdArray(ElementType.Float64, new[] { d.Length }, d);
        }

        /// <summary>Creates a 0-D float64 array holding one value.</summary>
        /// <param name="value">The value.</param>
        /// <returns>An array of shape [].</returns>
        public static NdArray Scalar(double value) => new(ElementType.Float64, Array.Empty<int>(), new[] { value });

        /// <summary>Creates a 2-D float64 array with the matrix's shape and values.</summary>
        /// <param name="matrix">The matrix.</param>
        /// <returns>An array of shape [Rows, Columns].</returns>
        public static NdArray FromMatrix(Matrix matrix)
        {
            Check.NotNull(matrix, nameof(matrix));
            return new NdArray(ElementType.Float64, new[] { matrix.Rows, matrix.Columns }, matrix.ToArray());
        }

        /// <summary>Wraps data without copying; the caller gives up ownership. The shape must already be valid.</summary>
        internal static NdArray Wrap(ElementType type, int[] shape, Array data)
        {
            if (ElementCountOf(shape) != data.Length || data.GetType() != ClrArrayType(type))
                throw new InvalidOperationException("internal: bad NdArray wrap");
            return new NdArray(type, shape, data);
        }

        private static NdArray Create(ElementType type, Array data, int[]? shape)
        {
            shape = shape is null ? Array.Empty<int>() : (int[])shape.Clone();
            ValidateShape(shape, nameof(shape));
            long count = ElementCountOf(shape);
            if (count != data.Length)
            {
                string detail = shape.Length == 0
                    ? "An empty shape means a 0-D scalar holding one element; pass the shape explicitly, e.g. (data, data.Length) for a vector."
                    : "The data length must equal the product of the shape.";
                throw new ShapeMismatchException("data", Check.Inv($"[{count}] (the product of shape {Check.Shape(shape)})"), Check.Inv($"[{data.Length}]"), detail);
            }
            return new NdArray(type, shape, data);
        }

        internal static void ValidateShape(int[] shape, string paramName)
        {
            if (shape.Length > MaxRank)
                throw new EntkArgumentException(paramName, Check.Inv($"at most {MaxRank} axes"), Check.Inv($"{shape.Length} axes"));
            for (int i = 0; i < shape.Length; i++)
                if (shape[i] < 0)
                    throw new EntkArgumentException(paramName, "non-negative axis lengths", Check.Shape(shape));
            if (ElementCountOf(shape) > Array.MaxLength)
                throw new EntkArgumentException(paramName, Check.Inv($"at most {Array.MaxLength} elements"), Check.Shape(shape));
        }

        /// <summary>Product of the shape, saturating at long.MaxValue.</summary>
        internal static long ElementCountOf(IReadOnlyList<int> shape)
        {
            long n = 1;
            foreach (int d in shape)
            {
                if (d == 0) return 0;
            }
            foreach (int d in shape)
            {
                if (n > long.MaxValue / Math.Max(d, 1)) return long.MaxValue;
                n *= d;
            }
            return n;
        }

        internal static string DescrOf(ElementType t) => t switch
        {
            ElementType.Float64 => "<f8",
            ElementType.Float32 => "<f4",
            ElementType.Int64 => "<i8",
            ElementType.Int32 => "<i4",
            ElementType.Bool => "|b1",
            ElementType.UInt8 => "|u1",
            _ => throw new ArgumentOutOfRangeException(nameof(t)),
        };

        internal static int ItemSizeOf(ElementType t) => t switch
        {
            ElementType.Float64 or ElementType.Int64 => 8,
            ElementType.Float32 or ElementType.Int32 => 4,
            ElementType.Bool or ElementType.UInt8 => 1,
            _ => throw new ArgumentOutOfRangeException(nameof(t)),
        };

        internal static Type ClrArrayType(ElementType t) => t switch
        {
            ElementType.Float64 => typeof(double[]),
            ElementType.Float32 => typeof(float[]),
            ElementType.Int64 => typeof(long[]),
            ElementType.Int32 => typeof(int[]),
            ElementType.Bool => typeof(bool[]),
            ElementType.UInt8 => typeof(byte[]),
            _ => throw new ArgumentOutOfRangeException(nameof(t)),
        };

        internal static string NumpyName(ElementType t) => t switch
        {
            ElementType.Float64 => "float64",
            ElementType.Float32 => "float32",
            ElementType.Int64 => "int64",
            ElementType.Int32 => "int32",
            ElementType.Bool => "bool",
            ElementType.UInt8 => "uint8",
            _ => throw new ArgumentOutOfRangeException(nameof(t)),
        };

        // ------------------------------------------------------------------ accessors

        /// <summary>
        /// A copy of the elements as float64, in C order. float32, int32, uint8 and bool (0/1) convert
        /// exactly; int64 converts when the value is exactly representable (|v| ≤ 2^53 always is).
        /// </summary>
        /// <returns>New array of length <see cref="ElementCount"/>.</returns>
        /// <exception cref="InvalidOperationException">An int64 element has no exact float64 value.</exception>
        public double[] ToDoubleArray()
        {
            switch (_data)
            {
                case double[] d: return (double[])d.Clone();
                case float[] f: { var r = new double[f.Length]; for (int i = 0; i < f.Length; i++) r[i] = f[i]; return r; }
                case int[] n: { var r = new double[n.Length]; for (int i = 0; i < n.Length; i++) r[i] = n[i]; return r; }
                case byte[] u: { var r = new double[u.Length]; for (int i = 0; i < u.Length; i++) r[i] = u[i]; return r; }
                case bool[] b: { var r = new double[b.Length]; for (int i = 0; i < b.Length; i++) r[i] = b[i] ? 1 : 0; return r; }
                case long[] l:
                {
                    var r = new double[l.Length];
                    for (int i = 0; i < l.Length; i++)
                    {
                        double v = l[i];
                        if (v >= 9223372036854775808.0 || (long)v != l[i])
                            throw new InvalidOperationException(Check.Inv($"The int64 element {l[i]} at flat index {i} has no exact float64 value."));
                        r[i] = v;
                    }
                    return r;
                }
                default: throw new InvalidOperationException("internal: unknown storage");
            }
        }

        /// <summary>A copy of the elements of a float32 array.</summary>
        /// <returns>New array of length <see cref="ElementCount"/>.</returns>
        /// <exception cref="InvalidOperationException">The array is not float32.</exception>
        public float[] ToSingleArray() => _data is float[] f ? (float[])f.Clone() : throw WrongType("ToSingleArray", "float32");

        /// <summary>A copy of the elements as int64. int64, int32, uint8 and bool (0/1) arrays convert exactly; float arrays are refused rather than truncated.</summary>
        /// <returns>New array of length <see cref="ElementCount"/>.</returns>
        /// <exception cref="InvalidOperationException">The array holds floats.</exception>
        public long[] ToInt64Array()
        {
            switch (_data)
            {
                case long[] l: return (long[])l.Clone();
                case int[] n: { var r = new long[n.Length]; for (int i = 0; i < n.Length; i++) r[i] = n[i]; return r; }
                case byte[] u: { var r = new long[u.Length]; for (int i = 0; i < u.Length; i++) r[i] = u[i]; return r; }
                case bool[] b: { var r = new long[b.Length]; for (int i = 0; i < b.Length; i++) r[i] = b[i] ? 1 : 0; return r; }
                default: throw WrongType("ToInt64Array", "int64, int32, uint8 or bool");
            }
        }

        /// <summary>A copy of the elements as int32. int32, uint8 and bool (0/1) arrays convert exactly; int64 converts when every value fits.</summary>
        /// <returns>New array of length <see cref="ElementCount"/>.</returns>
        /// <exception cref="InvalidOperationException">The array holds floats, or an int64 value does not fit.</exception>
        public int[] ToInt32Array()
        {
            switch (_data)
            {
                case int[] n: return (int[])n.Clone();
                case byte[] u: { var r = new int[u.Length]; for (int i = 0; i < u.Length; i++) r[i] = u[i]; return r; }
                case bool[] b: { var r = new int[b.Length]; for (int i = 0; i < b.Length; i++) r[i] = b[i] ? 1 : 0; return r; }
                case long[] l:
                {
                    var r = new int[l.Length];
                    for (int i = 0; i < l.Length; i++)
                    {
                        if (l[i] < int.MinValue || l[i] > int.MaxValue)
                            throw new InvalidOperationException(Check.Inv($"The int64 element {l[i]} at flat index {i} does not fit in int32."));
                        r[i] = (int)l[i];
                    }
                    return r;
                }
                default: throw WrongType("ToInt32Array", "int32, int64, uint8 or bool");
            }
        }

        /// <summary>A copy of the elements of a bool array.</summary>
        /// <returns>New array of length <see cref="ElementCount"/>.</returns>
        /// <exception cref="InvalidOperationException">The array is not bool.</exception>
        public bool[] ToBoolArray() => _data is bool[] b ? (bool[])b.Clone() : throw WrongType("ToBoolArray", "bool");

        /// <summary>A copy of the elements of a uint8 array.</summary>
        /// <returns>New array of length <see cref="ElementCount"/>.</returns>
        /// <exception cref="InvalidOperationException">The array is not uint8.</exception>
        public byte[] ToByteArray() => _data is byte[] u ? (byte[])u.Clone() : throw WrongType("ToByteArray", "uint8");

        /// <summary>The array as a matrix (values converted as by <see cref="ToDoubleArray"/>).</summary>
        /// <returns>A Shape[0] × Shape[1] matrix.</returns>
        /// <exception cref="InvalidOperationException">The array is not 2-D.</exception>
        public Matrix ToMatrix()
        {
            if (Rank != 2)
                throw new InvalidOperationException("ToMatrix needs a 2-D array; this array has shape " + Check.Shape(_shape) + ".");
            return Matrix.Wrap(_shape[0], _shape[1], ToDoubleArray());
        }

        /// <summary>The same elements with another shape of the same element count (C order is kept).</summary>
        /// <param name="shape">The new shape.</param>
        /// <returns>The reshaped array.</returns>
        /// <exception cref="ShapeMismatchException">The element counts differ.</exception>
        public NdArray Reshape(params int[] shape)
        {
            shape = shape is null ? Array.Empty<int>() : (int[])shape.Clone();
            ValidateShape(shape, nameof(shape));
            if (ElementCountOf(shape) != ElementCount)
                throw new ShapeMismatchException(nameof(shape), Check.Inv($"a shape with {ElementCount} elements (as {Check.Shape(_shape)})"), Check.Shape(shape));
            return new NdArray(ElementType, shape, _data); // sharing is safe: the data never changes
        }

        /// <summary>
        /// Whether another array has the same element type, shape and bit-identical elements
        /// (so NaN equals NaN with the same payload, and 0.0 differs from -0.0).
        /// </summary>
        /// <param name="other">The other array (null gives false).</param>
        /// <returns>True when identical.</returns>
        public bool ContentEquals(NdArray? other)
        {
            if (other is null) return false;
            if (ReferenceEquals(this, other)) return true;
            if (other.ElementType != ElementType || other.Rank != Rank) return false;
            for (int i = 0; i < _shape.Length; i++) if (_shape[i] != other._shape[i]) return false;
            return _data switch
            {
                double[] d => BitsEqual(d, (double[])other._data),
                float[] f => BitsEqual(f, (float[])other._data),
                long[] l => BitsEqual(l, (long[])other._data),
                int[] n => BitsEqual(n, (int[])other._data),
                bool[] b => BitsEqual(b, (bool[])other._data),
                byte[] u => BitsEqual(u, (byte[])other._data),
                _ => false,
            };
        }

        private static bool BitsEqual<T>(T[] a, T[] b) where T : unmanaged
        {
            const int Chunk = 1 << 20;
            for (int i = 0; i < a.Length; i += Chunk)
            {
                int n = Math.Min(Chunk, a.Length - i);
                if (!MemoryMarshal.AsBytes(a.AsSpan(i, n)).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan(i, n)))) return false;
            }
            return true;
        }

        private InvalidOperationException WrongType(string method, string wanted) =>
            new(method + " needs an array of " + wanted + "; this array is " + NumpyName(ElementType) + " " + Check.Shape(_shape) + ".");

        /// <summary>Short description, e.g. "NdArray float64 [2, 3]".</summary>
        /// <returns>The description.</returns>
        public override string ToString() =>
            string.Format(CultureInfo.InvariantCulture, "NdArray {0} {1}", NumpyName(ElementType), Check.Shape(_shape));
    }

    /// <summary>An array with a name: one entry of an <c>.npz</c> archive or one parameter tensor of a checkpoint.</summary>
    public sealed class NamedArray
    {
        /// <summary>Creates the pair.</summary>
        /// <param name="name">The name (non-empty).</param>
        /// <param name="array">The array.</param>
        /// <exception cref="EntkArgumentException">The name is empty.</exception>
        public NamedArray(string name, NdArray array)
        {
            Check.NotNull(name, nameof(name));
            if (name.Length == 0) throw new EntkArgumentException(nameof(name), "a non-empty name", "an empty string");
            Name = name;
            Array = Check.NotNull(array, nameof(array));
        }

        /// <summary>The name.</summary>
        public string Name { get; }

        /// <summary>The array.</summary>
        public NdArray Array { get; }

        /// <summary>For example "W: NdArray float64 [3, 4]".</summary>
        /// <returns>The description.</returns>
        public override string ToString() => Name + ": " + Array;
    }
}
