using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Entk.Internal;

namespace Entk.IO
{
    /// <summary>One entry of a ZIP archive as described by the central directory and checked against its local header.</summary>
    internal sealed class ZipEntryInfo
    {
        public ZipEntryInfo(string name, int method, uint crc, long compressedSize, long size, long localHeaderOffset, long dataOffset)
        {
            Name = name;
            Method = method;
            Crc32 = crc;
            CompressedSize = compressedSize;
            Size = size;
            LocalHeaderOffset = localHeaderOffset;
            DataOffset = dataOffset;
        }

        public string Name { get; }
        public int Method { get; }
        public uint Crc32 { get; }
        public long CompressedSize { get; }
        public long Size { get; }
        public long LocalHeaderOffset { get; }
        public long DataOffset { get; }
    }

    /// <summary>
    /// A strict, read-only ZIP reader (stored and deflate entries, ZIP64, no encryption, one disk).
    /// .NET's ZipArchive trusts the central directory alone and checks no CRC; this reader also
    /// cross-checks every local header (name, method, CRC, sizes), rejects overlapping entries and
    /// trailing garbage, and verifies each entry's CRC-32, so any corruption of names or data is an
    /// <see cref="EntkFormatException"/>. Only fields no reader uses (timestamps, attributes,
    /// version numbers, comments) can change unnoticed.
    /// </summary>
    internal sealed class ZipReader
    {
        private const uint EocdSig = 0x06054b50, Zip64LocatorSig = 0x07064b50, Zip64EocdSig = 0x06064b50, CentralSig = 0x02014b50, LocalSig = 0x04034b50;
        private readonly Stream _s;
        private readonly FormatSource _src;

        private ZipReader(Stream s, FormatSource src, List<ZipEntryInfo> entries)
        {
            _s = s;
            _src = src;
            Entries = entries;
        }

        /// <summary>Entries in central-directory order.</summary>
        public IReadOnlyList<ZipEntryInfo> Entries { get; }

        /// <summary>Parses and validates the archive structure. <paramref name="s"/> must be seekable and stays owned by the caller.</summary>
        public static ZipReader Open(Stream s, FormatSource src)
        {
            try
            {
                return new ZipReader(s, src, ReadDirectory(s, src));
            }
            catch (Exception e) when (IsIoFailure(e))
            {
                throw src.Fail("cannot read the ZIP structure: " + e.Message, e);
            }
        }

        /// <summary>Makes any readable stream seekable (copies non-seekable input into memory).</summary>
        public static Stream Seekable(Stream s)
        {
            if (s.CanSeek) return s;
            var ms = new MemoryStream();
            s.CopyTo(ms);
            ms.Position = 0;
            return ms;
        }

        private static bool IsIoFailure(Exception e) =>
            e is IOException or InvalidDataException or NotSupportedException or ArgumentException or OverflowException;

        private static string Inv(long v) => v.ToString(CultureInfo.InvariantCulture);

        private static byte[] ReadAt(Stream s, long offset, int count, FormatSource src, string what)
        {
            if (offset < 0 || count < 0 || offset > s.Length - count)
                throw src.Fail(what + " lies outside the file (offset " + Inv(offset) + ", " + Inv(count) + " bytes, file " + Inv(s.Length) + " bytes); the archive is truncated or corrupt.");
            var b = new byte[count];
            s.Position = offset;
            if (Npy.ReadFull(s, b) < count) throw src.Fail(what + " is truncated.");
            return b;
        }

        private static List<ZipEntryInfo> ReadDirectory(Stream s, FormatSource src)
        {
            long len = s.Length;
            if (len < 22) throw src.Fail("not a ZIP archive: " + Inv(len) + " bytes is too short (empty or truncated).");

            // End of central directory: the last "PK\5\6" whose comment reaches exactly to the end of the file.
            int tailLen = (int)Math.Min(len, 22 + 0xFFFF);
            var tail = ReadAt(s, len - tailLen, tailLen, src, "the end of the file");
            int at = -1;
            for (int i = tailLen - 22; i >= 0; i--)
            {
                if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == EocdSig && BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(i + 20)) == tailLen - i - 22)
                {
                    at = i;
                    break;
                }
            }
            if (at < 0) throw src.Fail("not a valid ZIP archive: no end-of-central-directory record at the end of the file (truncated, or not a ZIP file).");
            long eocdPos = len - tailLen + at;
            var eocd = tail.AsSpan(at, 22);
            long disk = BinaryPrimitives.ReadUInt16LittleEndian(eocd.Slice(4)), cdDisk = BinaryPrimitives.ReadUInt16LittleEndian(eocd.Slice(6));
            long nHere = BinaryPrimitives.ReadUInt16LittleEndian(eocd.Slice(8)), nTotal = BinaryPrimitives.ReadUInt16LittleEndian(eocd.Slice(10));
            long cdSize = BinaryPrimitives.ReadUInt32LittleEndian(eocd.Slice(12)), cdOffset = BinaryPrimitives.ReadUInt32LittleEndian(eocd.Slice(16));
            long cdLimit = eocdPos;

            // ZIP64 end record: required when a field overflowed; some writers (torch's miniz) always add one.
            bool needZip64 = nTotal == 0xFFFF || nHere == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF;
            bool hasLocator = eocdPos >= 20 && BinaryPrimitives.ReadUInt32LittleEndian(ReadAt(s, eocdPos - 20, 4, src, "the ZIP64 locator")) == Zip64LocatorSig;
            if (needZip64 || hasLocator)
            {
                var loc = ReadAt(s, eocdPos - 20, 20, src, "the ZIP64 end-of-central-directory locator");
                if (BinaryPrimitives.ReadUInt32LittleEndian(loc) != Zip64LocatorSig) throw src.Fail("the ZIP64 end-of-central-directory locator is missing or corrupt.");
                long n32 = nTotal, size32 = cdSize, off32 = cdOffset;
                long z64 = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(loc.AsSpan(8)));
                if (BinaryPrimitives.ReadUInt32LittleEndian(loc.AsSpan(4)) != 0 || BinaryPrimitives.ReadUInt32LittleEndian(loc.AsSpan(16)) > 1 || z64 > eocdPos - 20 - 56)
                    throw src.Fail("the ZIP64 end-of-central-directory locator is corrupt.");
                var rec = ReadAt(s, z64, 56, src, "the ZIP64 end-of-central-directory record");
                if (BinaryPrimitives.ReadUInt32LittleEndian(rec) != Zip64EocdSig) throw src.Fail("the ZIP64 end-of-central-directory record is missing or corrupt.");
                disk = BinaryPrimitives.ReadUInt32LittleEndian(rec.AsSpan(16));
                cdDisk = BinaryPrimitives.ReadUInt32LittleEndian(rec.AsSpan(20));
                nHere = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(rec.AsSpan(24)));
                nTotal = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(rec.AsSpan(32)));
                cdSize = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(rec.AsSpan(40)));
                cdOffset = checked((long)BinaryPrimitives.ReadUInt64LittleEndian(rec.AsSpan(48)));
                cdLimit = z64;
                if ((n32 != 0xFFFF && n32 != nTotal) || (size32 != 0xFFFFFFFF && size32 != cdSize) || (off32 != 0xFFFFFFFF && off32 != cdOffset))
                    throw src.Fail("the ZIP64 end record disagrees with the end record; the archive is corrupt.");
            }
            if (disk != 0 || cdDisk != 0 || nHere != nTotal) throw src.Fail("multi-disk (split) ZIP archives are not supported, or the end record is corrupt.");
            if (cdOffset < 0 || cdSize < 0 || cdOffset + cdSize != cdLimit)
                throw src.Fail("the central directory (offset " + Inv(cdOffset) + ", " + Inv(cdSize) + " bytes) does not end where the end record begins (" + Inv(cdLimit) + "); the archive is truncated or corrupt.");
            if (nTotal * 46 > cdSize) throw src.Fail("the end record declares " + Inv(nTotal) + " entries, more than a " + Inv(cdSize) + "-byte central directory can hold.");
            if (cdSize > int.MaxValue) throw src.Fail("the central directory is too large.");

            var cd = ReadAt(s, cdOffset, (int)cdSize, src, "the central directory");
            var entries = new List<ZipEntryInfo>((int)nTotal);
            var names = new HashSet<string>(StringComparer.Ordinal);
            int p = 0;
            for (long k = 0; k < nTotal; k++)
            {
                if (p + 46 > cd.Length || BinaryPrimitives.ReadUInt32LittleEndian(cd.AsSpan(p)) != CentralSig)
                    throw src.Fail("central directory entry " + Inv(k) + " is corrupt.");
                var h = cd.AsSpan(p, 46);
                int flags = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(8));
                int method = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(10));
                uint crc = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(16));
                long csize = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(20));
                long usize = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(24));
                int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(28));
                int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(30));
                int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(32));
                long diskStart = BinaryPrimitives.ReadUInt16LittleEndian(h.Slice(34));
                long offset = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(42));
                if (p + 46 + nameLen + extraLen + commentLen > cd.Length) throw src.Fail("central directory entry " + Inv(k) + " runs past the directory's end.");
                var nameBytes = cd.AsSpan(p + 46, nameLen).ToArray();
                string name = DecodeName(nameBytes, src);
                var z64 = Zip64Extra(cd.AsSpan(p + 46 + nameLen, extraLen), usize == 0xFFFFFFFF, csize == 0xFFFFFFFF, offset == 0xFFFFFFFF, diskStart == 0xFFFF, src, name);
                if (z64.Size >= 0) usize = z64.Size;
                if (z64.Compressed >= 0) csize = z64.Compressed;
                if (z64.Offset >= 0) offset = z64.Offset;
                if (z64.Disk >= 0) diskStart = z64.Disk;
                p += 46 + nameLen + extraLen + commentLen;

                var esrc = src.Entry(name);
                if ((flags & 0x0001) != 0 || (flags & 0x0040) != 0 || (flags & 0x2000) != 0) throw esrc.Fail("encrypted entries are not supported.");
                if (method != 0 && method != 8) throw esrc.Fail("compression method " + Inv(method) + " is not supported (only stored and deflate).");
                if (diskStart != 0) throw esrc.Fail("the entry is on another disk of a split archive.");
                if (method == 0 && csize != usize) throw esrc.Fail("a stored entry's compressed and uncompressed sizes differ (" + Inv(csize) + " vs " + Inv(usize) + ").");
                if (usize > csize * 1100 + 1024) throw esrc.Fail("the declared size " + Inv(usize) + " is impossible for " + Inv(csize) + " compressed bytes.");
                if (!names.Add(name)) throw src.Fail("entry '" + name + "' occurs twice.");

                // Local header: must agree with the directory.
                var lh = ReadAt(s, offset, 30, src, "the local header of entry '" + name + "'");
                if (BinaryPrimitives.ReadUInt32LittleEndian(lh) != LocalSig) throw esrc.Fail("no local file header at offset " + Inv(offset) + "; the archive is corrupt.");
                int lflags = BinaryPrimitives.ReadUInt16LittleEndian(lh.AsSpan(6));
                int lmethod = BinaryPrimitives.ReadUInt16LittleEndian(lh.AsSpan(8));
                uint lcrc = BinaryPrimitives.ReadUInt32LittleEndian(lh.AsSpan(14));
                long lcsize = BinaryPrimitives.ReadUInt32LittleEndian(lh.AsSpan(18));
                long lusize = BinaryPrimitives.ReadUInt32LittleEndian(lh.AsSpan(22));
                int lnameLen = BinaryPrimitives.ReadUInt16LittleEndian(lh.AsSpan(26));
                int lextraLen = BinaryPrimitives.ReadUInt16LittleEndian(lh.AsSpan(28));
                var lvar = ReadAt(s, offset + 30, lnameLen + lextraLen, src, "the local header of entry '" + name + "'");
                if (!lvar.AsSpan(0, lnameLen).SequenceEqual(nameBytes))
                    throw esrc.Fail("the local header names the entry '" + DecodeNameLenient(lvar.AsSpan(0, lnameLen)) + "'; the archive is corrupt.");
                if (lmethod != method) throw esrc.Fail("the local header's compression method (" + Inv(lmethod) + ") differs from the directory's (" + Inv(method) + ").");
                if ((lflags & 0x0001) != 0) throw esrc.Fail("encrypted entries are not supported.");
                if ((lflags & 0x0008) == 0)
                {
                    var lz = Zip64Extra(lvar.AsSpan(lnameLen, lextraLen), lusize == 0xFFFFFFFF, lcsize == 0xFFFFFFFF, false, false, src, name);
                    if (lz.Size >= 0) lusize = lz.Size;
                    if (lz.Compressed >= 0) lcsize = lz.Compressed;
                    if (lcrc != crc || lcsize != csize || lusize != usize)
                        throw esrc.Fail("the local header (CRC 0x" + lcrc.ToString("x8", CultureInfo.InvariantCulture) + ", " + Inv(lcsize) + "/" + Inv(lusize) + " bytes) disagrees with the directory (CRC 0x" + crc.ToString("x8", CultureInfo.InvariantCulture) + ", " + Inv(csize) + "/" + Inv(usize) + " bytes); the archive is corrupt.");
                }
                long dataOffset = offset + 30 + lnameLen + lextraLen;
                if (dataOffset + csize > cdOffset) throw esrc.Fail("the entry's data runs into the central directory; the archive is truncated or corrupt.");
                entries.Add(new ZipEntryInfo(name, method, crc, csize, usize, offset, dataOffset));
            }
            if (p != cd.Length) throw src.Fail("the central directory holds " + Inv(cd.Length - p) + " bytes after its last entry; it is corrupt.");

            var byOffset = entries.OrderBy(e => e.LocalHeaderOffset).ToList();
            for (int i = 1; i < byOffset.Count; i++)
                if (byOffset[i - 1].DataOffset + byOffset[i - 1].CompressedSize > byOffset[i].LocalHeaderOffset)
                    throw src.Fail("entries '" + byOffset[i - 1].Name + "' and '" + byOffset[i].Name + "' overlap; the archive is corrupt.");
            return entries;
        }

        private static string DecodeName(byte[] b, FormatSource src)
        {
            try { return new UTF8Encoding(false, true).GetString(b); }
            catch (DecoderFallbackException) { throw src.Fail("an entry name is neither ASCII nor UTF-8 (" + DecodeNameLenient(b) + ")."); }
        }

        private static string DecodeNameLenient(ReadOnlySpan<byte> b)
        {
            var sb = new StringBuilder();
            foreach (byte x in b) sb.Append(x >= 0x20 && x < 0x7f ? ((char)x).ToString() : "\\x" + x.ToString("x2", CultureInfo.InvariantCulture));
            return sb.ToString();
        }

        private readonly struct Z64
        {
            public Z64(long size, long compressed, long offset, long disk) { Size = size; Compressed = compressed; Offset = offset; Disk = disk; }
            public long Size { get; }
            public long Compressed { get; }
            public long Offset { get; }
            public long Disk { get; }
        }

        /// <summary>Reads the ZIP64 extra field (id 1): the 64-bit values of the fields marked 0xFFFFFFFF, in order; −1 where absent.</summary>
        private static Z64 Zip64Extra(ReadOnlySpan<byte> extra, bool needSize, bool needCompressed, bool needOffset, bool needDisk, FormatSource src, string name)
        {
            long size = -1, comp = -1, off = -1, disk = -1;
            bool found = false;
            int p = 0;
            while (p + 4 <= extra.Length)
            {
                int id = BinaryPrimitives.ReadUInt16LittleEndian(extra.Slice(p));
                int len = BinaryPrimitives.ReadUInt16LittleEndian(extra.Slice(p + 2));
                if (p + 4 + len > extra.Length) throw src.Entry(name).Fail("an extra field runs past its header.");
                if (id == 1 && !found)
                {
                    found = true;
                    var d = extra.Slice(p + 4, len).ToArray();
                    int q = 0;
                    long Next(int width)
                    {
                        if (q + width > d.Length) throw src.Entry(name).Fail("the ZIP64 extra field is too short.");
                        long v = width == 8 ? checked((long)BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(q))) : BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(q));
                        q += width;
                        return v;
                    }
                    if (needSize) size = Next(8);
                    if (needCompressed) comp = Next(8);
                    if (needOffset) off = Next(8);
                    if (needDisk) disk = Next(4);
                }
                p += 4 + len;
            }
            if ((needSize || needCompressed || needOffset || needDisk) && !found)
                throw src.Entry(name).Fail("a size or offset is marked as ZIP64 but the ZIP64 extra field is missing.");
            return new Z64(size, comp, off, disk);
        }

        /// <summary>
        /// Lets <paramref name="parse"/> consume an entry (given its uncompressed length), then checks
        /// that nothing follows and that the CRC-32 matches; every failure becomes an <see cref="EntkFormatException"/>.
        /// </summary>
        public T Read<T>(ZipEntryInfo e, Func<Stream, long, FormatSource, T> parse)
        {
            var esrc = _src.Entry(e.Name);
            try
            {
                using var raw = new BoundedReadStream(_s, e.DataOffset, e.CompressedSize);
                using Stream data = e.Method == 8 ? new DeflateStream(raw, CompressionMode.Decompress, leaveOpen: true) : raw;
                using var crc = new CrcReadStream(data);
                T result = parse(crc, e.Size, esrc);
                Span<byte> one = stackalloc byte[1];
                if (crc.Read(one) > 0)
                    throw esrc.Fail("the entry holds more data than its declared size " + Inv(e.Size) + "; the archive is corrupt.");
                if (crc.Count != e.Size)
                    throw esrc.Fail("read " + Inv(crc.Count) + " bytes but the entry declares " + Inv(e.Size) + "; the archive is corrupt.");
                if (crc.Crc != e.Crc32)
                    throw esrc.Fail(string.Format(CultureInfo.InvariantCulture, "CRC-32 mismatch (stored 0x{0:x8}, computed 0x{1:x8}): the entry's data is corrupt.", e.Crc32, crc.Crc));
                return result;
            }
            catch (Exception ex) when (IsIoFailure(ex) || ex is InvalidOperationException || ex is IndexOutOfRangeException)
            {
                throw esrc.Fail("corrupt entry data: " + ex.Message, ex);
            }
        }

        /// <summary>Reads an entry to its end and discards it, checking its size and CRC-32.</summary>
        public void Verify(ZipEntryInfo e)
        {
            Read(e, (s, len, esrc) =>
            {
                var buf = new byte[81920];
                long left = len;
                while (left > 0)
                {
                    int n = s.Read(buf, 0, (int)Math.Min(buf.Length, left));
                    if (n <= 0) throw esrc.Fail("truncated: " + Inv(len - left) + " of " + Inv(len) + " bytes.");
                    left -= n;
                }
                return true;
            });
        }

        /// <summary>Reads a whole (small) entry into memory with the same checks.</summary>
        public byte[] ReadAllBytes(ZipEntryInfo e, long maxLength)
        {
            return Read(e, (s, len, esrc) =>
            {
                if (len > maxLength) throw esrc.Fail("the entry is " + Inv(len) + " bytes, more than the limit of " + Inv(maxLength) + ".");
                var b = new byte[len];
                int got = Npy.ReadFull(s, b);
                if (got < len) throw esrc.Fail("truncated: " + Inv(got) + " of " + Inv(len) + " bytes.");
                return b;
            });
        }
    }

    /// <summary>A read-only window [offset, offset + length) of a seekable stream.</summary>
    internal sealed class BoundedReadStream : Stream
    {
        private readonly Stream _inner;
        private readonly long _start, _length;
        private long _pos;

        public BoundedReadStream(Stream inner, long start, long length)
        {
            _inner = inner;
            _start = start;
            _length = length;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            long left = _length - _pos;
            if (left <= 0 || buffer.Length == 0) return 0;
            if (buffer.Length > left) buffer = buffer.Slice(0, (int)left);
            _inner.Position = _start + _pos;
            int n = _inner.Read(buffer);
            _pos += n;
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A read-only pass-through stream that counts bytes and computes their CRC-32.</summary>
    internal sealed class CrcReadStream : Stream
    {
        private readonly Stream _inner;

        public CrcReadStream(Stream inner) => _inner = inner;

        public uint Crc { get; private set; }

        public long Count { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            int n = _inner.Read(buffer);
            if (n > 0)
            {
                Crc = Crc32.Append(Crc, buffer.Slice(0, n));
                Count += n;
            }
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
