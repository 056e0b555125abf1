using System;
using System.Buffers.Binary;
using NUnit.Framework;
using SkiaSharp;

namespace Entk.Tests.Plotting
{
    internal static class PngUtil
    {
        private static readonly byte[] Signature = { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };

        /// <summary>Asserts the PNG signature and an IHDR chunk first, and returns the IHDR width and height.</summary>
        public static (int Width, int Height) AssertPng(byte[] png)
        {
            Assert.That(png.Length, Is.GreaterThan(33), "PNG too short");
            Assert.That(png.AsSpan(0, 8).ToArray(), Is.EqualTo(Signature), "PNG signature");
            Assert.That(BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(8, 4)), Is.EqualTo(13u), "IHDR length");
            Assert.That(System.Text.Encoding.ASCII.GetString(png, 12, 4), Is.EqualTo("IHDR"));
            return ((int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(16, 4)), (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(20, 4)));
        }

        public static void AssertPngSize(byte[] png, int width, int height)
        {
            var (w, h) = AssertPng(png);
            Assert.That(w, Is.EqualTo(width), "IHDR width");
            Assert.That(h, Is.EqualTo(height), "IHDR height");
        }

        public static SKBitmap Decode(byte[] png) =>
            SKBitmap.Decode(png) ?? throw new AssertionException("SkiaSharp could not decode the PNG");

        /// <summary>Euclidean RGB distance.</summary>
        public static double Distance(SKColor a, SKColor b)
        {
            double dr = a.Red - b.Red, dg = a.Green - b.Green, db = a.Blue - b.Blue;
            return Math.Sqrt(dr * dr + dg * dg + db * db);
        }

        // matplotlib viridis end points and middle.
        public static readonly SKColor Viridis0 = new SKColor(0x44, 0x01, 0x54);
        public static readonly SKColor ViridisHalf = new SKColor(0x21, 0x91, 0x8C);
        public static readonly SKColor Viridis1 = new SKColor(0xFD, 0xE7, 0x25);
    }
}
