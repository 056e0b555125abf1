using System;

namespace Entk.Internal
{
    /// <summary>
    /// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of ZIP entries, gzip and
    /// zlib.crc32. Table-driven; System.IO.Hashing is not part of the shared framework.
    /// </summary>
    internal static class Crc32
    {
        private static readonly uint[] Table = BuildTable();

        private static uint[] BuildTable()
        {
            var t = new uint[256];
            for (uint n = 0; n < 256; n++)
            {
                uint c = n;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                t[n] = c;
            }
            return t;
        }

        /// <summary>Continues a running CRC (start with 0) over more bytes.</summary>
        public static uint Append(uint crc, ReadOnlySpan<byte> bytes)
        {
            uint c = ~crc;
            foreach (byte b in bytes) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
            return ~c;
        }

        /// <summary>CRC-32 of a byte span.</summary>
        public static uint Compute(ReadOnlySpan<byte> bytes) => Append(0, bytes);
    }
}
