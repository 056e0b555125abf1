using System;
using System.Buffers.Binary;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Training
{
    /// <summary>
    /// Continues a PyTorch CPU generator's stream in managed code. PyTorch's CPU generator is MT19937; its
    /// serialised state (<c>Generator.get_state()</c>, 5056 bytes: initial seed int64, left int32, seeded int32,
    /// next uint64, 624 state words as uint64, cached normal samples) holds everything needed to produce the same
    /// 32-bit outputs. <see cref="NextInt64"/> is <c>torch.empty((), dtype=torch.int64).random_(generator=g)</c>:
    /// random64 = (first output &lt;&lt; 32) | second output, reduced modulo 2^63.
    /// </summary>
    internal sealed class TorchGeneratorStream
    {
        private const int StateBytes = 5056;
        private readonly MersenneTwister _mt = new();

        private TorchGeneratorStream()
        {
        }

        /// <summary>The serialised state of a generator (<c>get_state()</c>), as bytes.</summary>
        public static byte[] StateOf(torch.Generator generator)
        {
            using var state = generator.get_state();
            return state.data<byte>().ToArray();
        }

        /// <summary>The stream continuing a serialised generator state (see <see cref="StateOf"/>).</summary>
        public static TorchGeneratorStream FromState(byte[] bytes)
        {
            if (bytes.Length != StateBytes)
                throw new InvalidOperationException("internal: unexpected CPU generator state size " + bytes.Length + " (expected " + StateBytes + ")");
            int left = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
            ulong next = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(16));
            var words = new uint[MersenneTwister.StateSize];
            for (int i = 0; i < words.Length; i++) words[i] = (uint)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24 + 8 * i));
            // ATen's mt19937 regenerates when --left reaches 0, otherwise it tempers state[next++].
            int index = left <= 1 ? MersenneTwister.StateSize : (int)next;
            var s = new TorchGeneratorStream();
            s._mt.SetState(words, index);
            return s;
        }

        /// <summary>The next 32-bit output (generator->random()).</summary>
        public uint NextUInt32() => _mt.Next();

        /// <summary><c>torch.empty((), dtype=torch.int64).random_(generator=g).item()</c>: random64 mod 2^63.</summary>
        public long NextInt64()
        {
            ulong hi = _mt.Next();
            ulong lo = _mt.Next();
            return (long)(((hi << 32) | lo) & 0x7fffffffffffffffUL);
        }
    }

    /// <summary>
    /// The mini-batch order of the paper's Transformer notebook, reproduced from the model seed: its
    /// <c>DataLoader(train, batch_size, shuffle=True)</c> draws, from the global generator that also initialised the
    /// model, one int64 per iterator (the loader's base seed) and one per shuffled pass (the RandomSampler's seed,
    /// which seeds a fresh generator for <c>randperm(n)</c>); every 20th epoch (epochs 0, 20, …, after training) the
    /// notebook's evaluation iterates the test loader (one draw) and the train loader (two draws).
    /// </summary>
    internal sealed class AuthorBatchOrder
    {
        /// <summary>The notebook's evaluation interval (its log_every), which shapes the stream.</summary>
        public const int EvaluationInterval = 20;

        private readonly TorchGeneratorStream _stream;

        public AuthorBatchOrder(TorchGeneratorStream stream)
        {
            _stream = stream;
        }

        /// <summary>The permutation of the n training rows for the next epoch.</summary>
        public long[] NextEpoch(int n)
        {
            _stream.NextInt64();                       // the DataLoader iterator's base seed
            long samplerSeed = _stream.NextInt64();    // RandomSampler: seed of its private generator
            using var g = new torch.Generator((ulong)samplerSeed, torch.CPU);
            using var perm = torch.randperm(n, ScalarType.Int64, generator: g);
            return perm.data<long>().ToArray();
        }

        /// <summary>The draws of the notebook's evaluation after training epoch e, when e is a multiple of 20.</summary>
        public void AfterEpoch(int epoch)
        {
            if (epoch % EvaluationInterval != 0) return;
            _stream.NextInt64();                       // test loader iterator (sequential sampler: base seed only)
            _stream.NextInt64();                       // train loader iterator: base seed
            _stream.NextInt64();                       //                        sampler seed
        }
    }
}
