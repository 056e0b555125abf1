using System;
using System.Collections.Generic;
using Entk.Internal;

namespace Entk.Training
{
    /// <summary>
    /// The 32-bit Mersenne Twister MT19937 (Matsumoto and Nishimura 1998), the generator behind both
    /// CPython's <c>random</c> module and PyTorch's CPU generator. Only the core: the state, its two
    /// seeding procedures and the tempered 32-bit output. Not thread-safe; every instance is private to
    /// its owner.
    /// </summary>
    internal sealed class MersenneTwister
    {
        internal const int StateSize = 624;
        private const int M = 397;
        private const uint MatrixA = 0x9908b0dfu;
        private const uint UpperMask = 0x80000000u;
        private const uint LowerMask = 0x7fffffffu;

        private readonly uint[] _mt = new uint[StateSize];
        private int _index = StateSize + 1;

        /// <summary>init_genrand(s): the reference seeding from one 32-bit word.</summary>
        public void SeedWord(uint s)
        {
            _mt[0] = s;
            for (int i = 1; i < StateSize; i++)
                _mt[i] = unchecked(1812433253u * (_mt[i - 1] ^ (_mt[i - 1] >> 30)) + (uint)i);
            _index = StateSize;
        }

        /// <summary>init_by_array(key): the reference seeding from a key of 32-bit words (CPython's random.seed).</summary>
        public void SeedArray(IReadOnlyList<uint> key)
        {
            SeedWord(19650218u);
            int i = 1, j = 0, n = key.Count;
            for (int k = Math.Max(StateSize, n); k > 0; k--)
            {
                _mt[i] = unchecked((_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint)j);
                i++;
                j++;
                if (i >= StateSize) { _mt[0] = _mt[StateSize - 1]; i = 1; }
                if (j >= n) j = 0;
            }
            for (int k = StateSize - 1; k > 0; k--)
            {
                _mt[i] = unchecked((_mt[i] ^ ((_mt[i - 1] ^ (_mt[i - 1] >> 30)) * 1566083941u)) - (uint)i);
                i++;
                if (i >= StateSize) { _mt[0] = _mt[StateSize - 1]; i = 1; }
            }
            _mt[0] = 0x80000000u;
            _index = StateSize;
        }

        /// <summary>Sets the raw state: 624 words and the position of the next word to temper (0..624; 624 = regenerate first).</summary>
        public void SetState(ReadOnlySpan<uint> state, int index)
        {
            if (state.Length != StateSize) throw new ArgumentException("an MT19937 state has 624 words", nameof(state));
            if (index < 0 || index > StateSize) throw new ArgumentOutOfRangeException(nameof(index));
            state.CopyTo(_mt);
            _index = index;
        }

        /// <summary>The next tempered 32-bit output (genrand_uint32).</summary>
        public uint Next()
        {
            if (_index >= StateSize)
            {
                if (_index == StateSize + 1) SeedWord(5489u);
                int kk;
                for (kk = 0; kk < StateSize - M; kk++)
                {
                    uint y = (_mt[kk] & UpperMask) | (_mt[kk + 1] & LowerMask);
                    _mt[kk] = _mt[kk + M] ^ (y >> 1) ^ ((y & 1u) != 0 ? MatrixA : 0u);
                }
                for (; kk < StateSize - 1; kk++)
                {
                    uint y = (_mt[kk] & UpperMask) | (_mt[kk + 1] & LowerMask);
                    _mt[kk] = _mt[kk + (M - StateSize)] ^ (y >> 1) ^ ((y & 1u) != 0 ? MatrixA : 0u);
                }
                uint yy = (_mt[StateSize - 1] & UpperMask) | (_mt[0] & LowerMask);
                _mt[StateSize - 1] = _mt[M - 1] ^ (yy >> 1) ^ ((yy & 1u) != 0 ? MatrixA : 0u);
                _index = 0;
            }
            uint v = _mt[_index++];
            v ^= v >> 11;
            v ^= (v << 7) & 0x9d2c5680u;
            v ^= (v << 15) & 0xefc60000u;
            v ^= v >> 18;
            return v;
        }
    }

    /// <summary>
    /// A bit-exact port of the parts of CPython's <c>random.Random</c> (3.2 and later) that the paper's data
    /// split uses: <c>random.seed(n)</c> for an integer n, <c>getrandbits(k)</c> for k ≤ 32, <c>_randbelow</c>
    /// and <c>shuffle</c>. With it, <c>random.seed(0); random.shuffle(pairs)</c> gives the same order here as in
    /// Python. Seeding follows CPython: the key is |n| split into 32-bit words, least significant first (one word 0
    /// for n = 0), fed to init_by_array. Every instance owns its state; nothing global is touched.
    /// </summary>
    /// <example>
    /// C#: <c>var r = new PythonRandom(0); r.Shuffle(pairs);</c> — the same as Python's
    /// <c>random.seed(0); random.shuffle(pairs)</c>.
    /// </example>
    public sealed class PythonRandom
    {
        private readonly MersenneTwister _mt = new();

        /// <summary>A generator seeded like <c>random.seed(seed)</c> with an int argument.</summary>
        /// <param name="seed">The seed (its absolute value is used, as in CPython).</param>
        public PythonRandom(long seed)
        {
            ulong n = seed == long.MinValue ? 1UL << 63 : (ulong)Math.Abs(seed);
            var key = new List<uint> { (uint)(n & 0xffffffffu) };
            if ((n >> 32) != 0) key.Add((uint)(n >> 32));
            _mt.SeedArray(key);
        }

        /// <summary><c>getrandbits(k)</c>: a uniformly random integer in [0, 2^k).</summary>
        /// <param name="bits">k, 0 ≤ k ≤ 32.</param>
        /// <returns>The integer.</returns>
        /// <exception cref="EntkArgumentException">k outside [0, 32].</exception>
        public long GetRandBits(int bits)
        {
            Check.InRange(bits, 0, 32, nameof(bits));
            if (bits == 0) return 0;
            return _mt.Next() >> (32 - bits);
        }

        /// <summary><c>_randbelow(n)</c>: a uniformly random integer in [0, n), by rejection sampling on getrandbits(bit_length(n)).</summary>
        /// <param name="n">Upper bound, 1 ≤ n ≤ 2^32 − 1.</param>
        /// <returns>The integer.</returns>
        /// <exception cref="EntkArgumentException">n outside [1, 2^32 − 1].</exception>
        public long RandBelow(long n)
        {
            if (n < 1 || n > uint.MaxValue) throw new EntkArgumentException(nameof(n), "an upper bound in [1, 2^32 − 1]", n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            int k = 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)n);
            long r = GetRandBits(k);
            while (r >= n) r = GetRandBits(k);
            return r;
        }

        /// <summary><c>shuffle(x)</c> in place: for i = len−1 down to 1, swap x[i] with x[_randbelow(i + 1)].</summary>
        /// <typeparam name="T">Element type.</typeparam>
        /// <param name="items">The list to shuffle (length below 2^32).</param>
        public void Shuffle<T>(IList<T> items)
        {
            Check.NotNull(items, nameof(items));
            for (int i = items.Count - 1; i > 0; i--)
            {
                int j = (int)RandBelow(i + 1);
                (items[i], items[j]) = (items[j], items[i]);
            }
        }
    }
}
