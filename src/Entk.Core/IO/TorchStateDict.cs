using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Entk.Internal;

namespace Entk.IO
{
    /// <summary>
    /// Imports a PyTorch <c>state_dict</c> saved with <c>torch.save(model.state_dict(), path)</c>
    /// (the ZIP format, the default since torch 1.6) without Python and without executing pickle
    /// code.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The file is a ZIP archive <c>&lt;prefix&gt;/data.pkl</c> + <c>&lt;prefix&gt;/data/&lt;key&gt;</c>
    /// (raw little-endian storage bytes) + <c>&lt;prefix&gt;/version</c>. <c>data.pkl</c> is decoded
    /// by a restricted pickle interpreter that knows only the opcodes of protocols 2–4 that
    /// <c>torch.save</c> emits for a dict of tensors, and only four globals:
    /// <c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>,
    /// <c>torch.FloatStorage</c> and <c>torch.DoubleStorage</c>. Any other opcode or global (another
    /// dtype, nn.Parameter objects, arbitrary Python objects, the legacy non-ZIP format) gives
    /// <see cref="EntkFormatException"/>; nothing is ever executed.
    /// </para>
    /// <para>
    /// Tensors keep their element type (float32 stays <see cref="ElementType.Float32"/>; use
    /// <see cref="NdArray.ToDoubleArray"/> to promote) and are returned in C order whatever their
    /// strides (transposed views and views into shared storages are materialised). The
    /// <c>_metadata</c> attribute of the state_dict is ignored. Every ZIP entry's CRC-32 is checked.
    /// One storage must fit in a .NET array (at most 2 GiB of bytes).
    /// </para>
    /// </remarks>
    public static class TorchStateDict
    {
        private const long MaxPickleBytes = 64L << 20;

        /// <summary>Reads the tensors of a saved state_dict, in the dict's order.</summary>
        /// <param name="path">A file written by <c>torch.save(state_dict, path)</c>.</param>
        /// <returns>(name, tensor) pairs in state_dict order.</returns>
        /// <exception cref="EntkFormatException">The file is not a supported torch ZIP checkpoint of float32/float64 tensors, or it is corrupt.</exception>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        public static IReadOnlyList<NamedArray> Read(string path)
        {
            Check.NotNull(path, nameof(path));
            var src = new FormatSource(path);
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var head = new byte[4];
            int got = Npy.ReadFull(fs, head);
            if (got >= 2 && head[0] == 0x80 && head[1] <= 5)
                throw src.Fail("this is the legacy (pre-1.6, non-ZIP) torch.save format, which is not supported; re-save it with a current torch.save (the default ZIP format).");
            if (got < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
                throw src.Fail("not a torch.save ZIP file (it does not start with the ZIP signature 'PK').");
            fs.Position = 0;

            var zip = ZipReader.Open(fs, src);
            var entries = zip.Entries;
            var pkl = entries.Where(e => e.Name == "data.pkl" || e.Name.EndsWith("/data.pkl", StringComparison.Ordinal)).ToList();
            if (pkl.Count != 1)
                throw src.Fail(pkl.Count == 0 ? "the ZIP archive has no 'data.pkl' entry; it was not written by torch.save." : "the ZIP archive has several 'data.pkl' entries.");
            string prefix = pkl[0].Name.Substring(0, pkl[0].Name.Length - "data.pkl".Length);
            var byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);

            if (byName.TryGetValue(prefix + "byteorder", out var bo))
            {
                // (read before the tensors: it decides how their bytes are interpreted)
                string order = Encoding.ASCII.GetString(zip.ReadAllBytes(bo, 64)).Trim();
                if (order != "little") throw src.Fail("the tensors are stored in '" + order + "' byte order; only little-endian checkpoints are supported.");
            }

            var used = new HashSet<string>(StringComparer.Ordinal) { pkl[0].Name };
            if (byName.TryGetValue(prefix + "version", out var ver))
            {
                used.Add(ver.Name);
                string v = Encoding.ASCII.GetString(zip.ReadAllBytes(ver, 64)).Trim();
                if (v.Length == 0 || !v.All(char.IsAsciiDigit)) throw src.Fail("the 'version' record is not a number; the file is corrupt.");
            }

            byte[] pickle = zip.ReadAllBytes(pkl[0], MaxPickleBytes);
            var top = new Unpickler(pickle, src.Entry(pkl[0].Name)).Run();
            if (top is not PyDict dict)
                throw src.Fail("data.pkl holds " + Unpickler.Describe(top) + ", not a state_dict (a dict of tensors).");

            var storages = new Dictionary<string, (ElementType Type, Array Data)>(StringComparer.Ordinal);
            var result = new List<NamedArray>(dict.Items.Count);
            foreach (var (k, v) in dict.Items)
            {
                if (k is not string name) throw src.Fail("the state_dict has a key that is not a string (" + Unpickler.Describe(k) + ").");
                if (v is not TensorRef t) throw src.Fail("state_dict entry '" + name + "' is " + Unpickler.Describe(v) + ", not a float32/float64 tensor.");
                if (!storages.TryGetValue(t.Storage.Key, out var st))
                {
                    if (!byName.TryGetValue(prefix + "data/" + t.Storage.Key, out var de))
                        throw src.Fail("tensor '" + name + "' refers to storage '" + t.Storage.Key + "', but the archive has no entry '" + prefix + "data/" + t.Storage.Key + "'.");
                    int item = NdArray.ItemSizeOf(t.Storage.Type);
                    long bytes = t.Storage.Numel * item;
                    used.Add(de.Name);
                    var raw = zip.ReadAllBytes(de, Math.Min((long)Array.MaxLength, bytes));
                    if (raw.LongLength != bytes)
                        throw src.Fail("storage '" + t.Storage.Key + "' should hold " + Check.Inv($"{t.Storage.Numel}") + " elements (" + Check.Inv($"{bytes}") + " bytes) but its entry has " + Check.Inv($"{raw.LongLength}") + " bytes.");
                    st = (t.Storage.Type, ToTyped(t.Storage.Type, raw));
                    storages[t.Storage.Key] = st;
                }
                else if (st.Type != t.Storage.Type)
                {
                    throw src.Fail("storage '" + t.Storage.Key + "' is used with two element types.");
                }
                result.Add(new NamedArray(name, Materialise(name, t, st.Data, src)));
            }
            // Every other record (unused storages, torch 2.x metadata) is still checked against its CRC-32.
            foreach (var e in entries)
                if (!used.Contains(e.Name) && (bo is null || e.Name != bo.Name)) zip.Verify(e);
            return result.AsReadOnly();
        }

        private static Array ToTyped(ElementType type, byte[] raw)
        {
            if (type == ElementType.Float32)
            {
                var f = new float[raw.Length / 4];
                for (int i = 0; i < f.Length; i++) f[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan(i * 4));
                return f;
            }
            var d = new double[raw.Length / 8];
            for (int i = 0; i < d.Length; i++) d[i] = System.Buffers.Binary.BinaryPrimitives.ReadDoubleLittleEndian(raw.AsSpan(i * 8));
            return d;
        }

        private static NdArray Materialise(string name, TensorRef t, Array storage, FormatSource src)
        {
            int rank = t.Size.Length;
            if (rank > NdArray.MaxRank) throw src.Fail("tensor '" + name + "' has rank " + Check.Inv($"{rank}") + " (at most " + Check.Inv($"{NdArray.MaxRank}") + " supported).");
            var shape = new int[rank];
            long maxIndex = t.Offset;
            for (int k = 0; k < rank; k++)
            {
                if (t.Size[k] < 0 || t.Size[k] > int.MaxValue || t.Stride[k] < 0 || t.Stride[k] > int.MaxValue)
                    throw src.Fail("tensor '" + name + "' has an invalid size or stride.");
                shape[k] = (int)t.Size[k];
                if (t.Size[k] > 0)
                {
                    try { maxIndex = checked(maxIndex + (t.Size[k] - 1) * t.Stride[k]); }
                    catch (OverflowException) { throw src.Fail("tensor '" + name + "' has an invalid size or stride."); }
                }
            }
            long n = NdArray.ElementCountOf(shape);
            if (n > Array.MaxLength) throw src.Fail("tensor '" + name + "' has too many elements.");
            if (n > 0 && (t.Offset < 0 || maxIndex >= storage.Length))
                throw src.Fail("tensor '" + name + "' (offset " + Check.Inv($"{t.Offset}") + ", shape " + Check.Shape(shape) + ") reaches outside its storage of " + Check.Inv($"{storage.Length}") + " elements.");
            return storage switch
            {
                float[] f => NdArray.Wrap(ElementType.Float32, shape, Gather(f, shape, t.Stride, t.Offset, (int)n)),
                double[] d => NdArray.Wrap(ElementType.Float64, shape, Gather(d, shape, t.Stride, t.Offset, (int)n)),
                _ => throw new InvalidOperationException("internal: storage type"),
            };
        }

        private static T[] Gather<T>(T[] storage, int[] shape, long[] stride, long offset, int n)
        {
            var dst = new T[n];
            if (n == 0) return dst;
            int rank = shape.Length;
            var idx = new int[rank];
            long s = offset;
            for (int i = 0; i < n; i++)
            {
                dst[i] = storage[s];
                for (int k = rank - 1; k >= 0; k--)
                {
                    idx[k]++;
                    s += stride[k];
                    if (idx[k] < shape[k]) break;
                    s -= stride[k] * idx[k];
                    idx[k] = 0;
                }
            }
            return dst;
        }

        // ------------------------------------------------------------------ restricted unpickler

        private sealed class PyGlobal
        {
            public PyGlobal(string module, string name) { Module = module; Name = name; }
            public string Module { get; }
            public string Name { get; }
            public string Full => Module + "." + Name;
        }

        private sealed class PyDict
        {
            public List<(object Key, object Value)> Items { get; } = new();
            public Dictionary<object, int> Index { get; } = new();
        }

        private sealed class PyList
        {
            public List<object> Items { get; } = new();
        }

        private sealed class PyNone
        {
            public static readonly PyNone Value = new();
        }

        private sealed class Mark
        {
            public static readonly Mark Value = new();
        }

        private sealed class StorageRef
        {
            public StorageRef(ElementType type, string key, long numel) { Type = type; Key = key; Numel = numel; }
            public ElementType Type { get; }
            public string Key { get; }
            public long Numel { get; }
        }

        private sealed class TensorRef
        {
            public TensorRef(StorageRef storage, long offset, long[] size, long[] stride) { Storage = storage; Offset = offset; Size = size; Stride = stride; }
            public StorageRef Storage { get; }
            public long Offset { get; }
            public long[] Size { get; }
            public long[] Stride { get; }
        }

        private sealed class Unpickler
        {
            private const int MaxStack = 1 << 20;
            private readonly byte[] _b;
            private readonly FormatSource _src;
            private readonly List<object> _stack = new();
            private readonly Dictionary<long, object> _memo = new();
            private int _p;

            public Unpickler(byte[] bytes, FormatSource src)
            {
                _b = bytes;
                _src = src;
            }

            private EntkFormatException Bad(string problem) => _src.Fail("unsupported or corrupt pickle: " + problem);

            public static string Describe(object? o) => o switch
            {
                null => "nothing",
                string s => "the string '" + (s.Length > 40 ? s.Substring(0, 40) + "..." : s) + "'",
                long => "an integer",
                double => "a float",
                bool => "a bool",
                PyNone => "None",
                object[] t => "a tuple of " + Check.Inv($"{t.Length}") + " items",
                PyList => "a list",
                PyDict => "a dict",
                PyGlobal g => "the Python object " + g.Full,
                StorageRef => "a bare storage",
                TensorRef => "a tensor",
                _ => "an unsupported object",
            };

            private byte U8()
            {
                if (_p >= _b.Length) throw Bad("truncated (ends inside an instruction).");
                return _b[_p++];
            }

            private ReadOnlySpan<byte> Take(long n)
            {
                if (n < 0 || n > _b.Length - _p) throw Bad("truncated (an argument runs past the end).");
                var s = _b.AsSpan(_p, (int)n);
                _p += (int)n;
                return s;
            }

            private uint U32() => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

            private string Utf8(ReadOnlySpan<byte> bytes)
            {
                try { return new UTF8Encoding(false, true).GetString(bytes); }
                catch (DecoderFallbackException) { throw Bad("a string is not valid UTF-8."); }
            }

            private string Line()
            {
                int start = _p;
                while (_p < _b.Length && _b[_p] != (byte)'\n') _p++;
                if (_p >= _b.Length) throw Bad("truncated GLOBAL name.");
                string s = Encoding.ASCII.GetString(_b, start, _p - start);
                _p++;
                return s;
            }

            private void Push(object o)
            {
                if (_stack.Count >= MaxStack) throw Bad("stack too deep.");
                _stack.Add(o);
            }

            private object Pop()
            {
                if (_stack.Count == 0) throw Bad("stack underflow.");
                var o = _stack[^1];
                _stack.RemoveAt(_stack.Count - 1);
                if (o is Mark) throw Bad("unexpected MARK on the stack.");
                return o;
            }

            private object Top()
            {
                if (_stack.Count == 0 || _stack[^1] is Mark) throw Bad("stack underflow.");
                return _stack[^1];
            }

            private List<object> PopToMark()
            {
                int m = _stack.FindLastIndex(o => o is Mark);
                if (m < 0) throw Bad("no MARK on the stack.");
                var items = _stack.GetRange(m + 1, _stack.Count - m - 1);
                _stack.RemoveRange(m, _stack.Count - m);
                return items;
            }

            private object Global(string module, string name)
            {
                switch (module + "." + name)
                {
                    case "collections.OrderedDict":
                    case "torch._utils._rebuild_tensor_v2":
                    case "torch.FloatStorage":
                    case "torch.DoubleStorage":
                        return new PyGlobal(module, name);
                }
                string hint = name.EndsWith("Storage", StringComparison.Ordinal)
                    ? " Only float32 and float64 tensors are supported (convert with {k: v.double() for k, v in sd.items()})."
                    : " Only a dict of float32/float64 tensors (model.state_dict()) can be imported.";
                throw _src.Fail("unsupported pickle global '" + module + "." + name + "'." + hint);
            }

            private static void SetItem(PyDict d, object key, object value)
            {
                if (d.Index.TryGetValue(key, out int i)) { d.Items[i] = (key, value); return; }
                d.Index[key] = d.Items.Count;
                d.Items.Add((key, value));
            }

            private object Reduce(object callable, object args)
            {
                if (callable is not PyGlobal g) throw Bad("REDUCE on " + Describe(callable) + ".");
                if (args is not object[] a) throw Bad("REDUCE arguments are not a tuple.");
                switch (g.Full)
                {
                    case "collections.OrderedDict":
                        if (a.Length != 0) throw Bad("OrderedDict(...) with arguments.");
                        return new PyDict();
                    case "torch._utils._rebuild_tensor_v2":
                        if (a.Length < 6 || a.Length > 7) throw Bad("_rebuild_tensor_v2 with " + Check.Inv($"{a.Length}") + " arguments.");
                        if (a[0] is not StorageRef st) throw Bad("_rebuild_tensor_v2: the first argument is not a storage.");
                        if (a[1] is not long off) throw Bad("_rebuild_tensor_v2: the storage offset is not an integer.");
                        var size = Longs(a[2], "size");
                        var stride = Longs(a[3], "stride");
                        if (size.Length != stride.Length) throw Bad("_rebuild_tensor_v2: size and stride differ in length.");
                        if (a[4] is not bool) throw Bad("_rebuild_tensor_v2: requires_grad is not a bool.");
                        return new TensorRef(st, off, size, stride);
                    default:
                        throw Bad("calling " + g.Full + " is not supported.");
                }
            }

            private long[] Longs(object o, string what)
            {
                if (o is not object[] t) throw Bad("_rebuild_tensor_v2: " + what + " is not a tuple.");
                var r = new long[t.Length];
                for (int i = 0; i < t.Length; i++) r[i] = t[i] is long l ? l : throw Bad("_rebuild_tensor_v2: " + what + " holds a non-integer.");
                return r;
            }

            private object PersistentLoad(object pid)
            {
                if (pid is not object[] t || t.Length != 5 || t[0] is not string tag || tag != "storage")
                    throw Bad("a persistent id that is not ('storage', type, key, location, numel).");
                if (t[1] is not PyGlobal g) throw Bad("persistent id: the storage type is not a class.");
                ElementType type = g.Full switch
                {
                    "torch.FloatStorage" => ElementType.Float32,
                    "torch.DoubleStorage" => ElementType.Float64,
                    _ => throw Bad("persistent id: unsupported storage type " + g.Full + "."),
                };
                if (t[2] is not string key || key.Length == 0 || key.Length > 64 || !key.All(char.IsAsciiLetterOrDigit))
                    throw Bad("persistent id: invalid storage key.");
                if (t[4] is not long numel || numel < 0 || numel > Array.MaxLength) throw Bad("persistent id: invalid element count.");
                return new StorageRef(type, key, numel);
            }

            public object Run()
            {
                while (true)
                {
                    byte op = U8();
                    switch (op)
                    {
                        case 0x80: // PROTO
                        {
                            byte v = U8();
                            if (v < 2 || v > 5) throw Bad("pickle protocol " + Check.Inv($"{v}") + ".");
                            break;
                        }
                        case 0x95: Take(8); break; // FRAME (protocol 4): length prefix only
                        case (byte)'c': { string m = Line(); string n = Line(); Push(Global(m, n)); break; }
                        case 0x93: // STACK_GLOBAL
                        {
                            var n = Pop(); var m = Pop();
                            if (m is not string ms || n is not string ns) throw Bad("STACK_GLOBAL without strings.");
                            Push(Global(ms, ns));
                            break;
                        }
                        case (byte)'(': _stack.Add(Mark.Value); break;
                        case (byte)')': Push(Array.Empty<object>()); break;
                        case (byte)'t': Push(PopToMark().ToArray()); break;
                        case 0x85: Push(new[] { Pop() }); break;
                        case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                        case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                        case (byte)'}': Push(new PyDict()); break;
                        case (byte)']': Push(new PyList()); break;
                        case (byte)'s':
                        {
                            var v = Pop(); var k = Pop();
                            if (Top() is not PyDict d) throw Bad("SETITEM on " + Describe(Top()) + ".");
                            SetItem(d, k, v);
                            break;
                        }
                        case (byte)'u':
                        {
                            var items = PopToMark();
                            if (items.Count % 2 != 0) throw Bad("SETITEMS with an odd number of items.");
                            if (Top() is not PyDict d) throw Bad("SETITEMS on " + Describe(Top()) + ".");
                            for (int i = 0; i < items.Count; i += 2) SetItem(d, items[i], items[i + 1]);
                            break;
                        }
                        case (byte)'a':
                        {
                            var v = Pop();
                            if (Top() is not PyList l) throw Bad("APPEND on " + Describe(Top()) + ".");
                            l.Items.Add(v);
                            break;
                        }
                        case (byte)'e':
                        {
                            var items = PopToMark();
                            if (Top() is not PyList l) throw Bad("APPENDS on " + Describe(Top()) + ".");
                            l.Items.AddRange(items);
                            break;
                        }
                        case (byte)'X': Push(Utf8(Take(U32()))); break; // BINUNICODE
                        case 0x8c: Push(Utf8(Take(U8()))); break;         // SHORT_BINUNICODE
                        case (byte)'K': Push((long)U8()); break;          // BININT1
                        case (byte)'M': Push((long)System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                        case (byte)'J': Push((long)System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                        case 0x8a: // LONG1
                        {
                            int n = U8();
                            if (n > 8) throw Bad("an integer wider than 64 bits.");
                            var bytes = Take(n);
                            long v = 0;
                            for (int i = n - 1; i >= 0; i--) v = (v << 8) | bytes[i];
                            if (n > 0 && n < 8 && (bytes[n - 1] & 0x80) != 0) v -= 1L << (8 * n);
                            Push(v);
                            break;
                        }
                        case (byte)'G': Push(System.Buffers.Binary.BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                        case 0x88: Push(true); break;
                        case 0x89: Push(false); break;
                        case (byte)'N': Push(PyNone.Value); break;
                        case (byte)'q': _memo[U8()] = Top(); break;   // BINPUT
                        case (byte)'r': _memo[U32()] = Top(); break;  // LONG_BINPUT
                        case 0x94: _memo[_memo.Count] = Top(); break; // MEMOIZE
                        case (byte)'h': Push(_memo.TryGetValue(U8(), out var m1) ? m1 : throw Bad("BINGET of an unknown memo slot.")); break;
                        case (byte)'j': Push(_memo.TryGetValue(U32(), out var m2) ? m2 : throw Bad("LONG_BINGET of an unknown memo slot.")); break;
                        case (byte)'R': { var args = Pop(); var f = Pop(); Push(Reduce(f, args)); break; }
                        case (byte)'Q': Push(PersistentLoad(Pop())); break; // BINPERSID
                        case (byte)'b': // BUILD: only the state dict of an OrderedDict (its _metadata attribute), ignored
                        {
                            var state = Pop();
                            if (Top() is not PyDict || state is not PyDict) throw Bad("BUILD on " + Describe(Top()) + ".");
                            break;
                        }
                        case (byte)'.': // STOP
                        {
                            var result = Pop();
                            if (_stack.Count != 0) throw Bad("items left on the stack at STOP.");
                            if (_p != _b.Length) throw Bad("data after STOP.");
                            return result;
                        }
                        default:
                            throw Bad("opcode 0x" + op.ToString("x2", System.Globalization.CultureInfo.InvariantCulture) + " at offset " + Check.Inv($"{_p - 1}") + " is not supported.");
                    }
                }
            }
        }
    }
}
