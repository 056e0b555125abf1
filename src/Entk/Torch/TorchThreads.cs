namespace Entk.Torch
{
    /// <summary>
    /// Temporarily sets libtorch's intra-op thread count and restores the previous value on dispose (a null count changes
    /// nothing). Used for phases of many tiny operations (training loops, per-sample loops): with two OpenMP threads on a
    /// busy two-core machine they ran 10–30× slower than with one, and one thread is no slower on an idle machine.
    /// Results do not depend on the thread count.
    /// </summary>
    internal sealed class TorchThreads : System.IDisposable
    {
        private readonly int _previous;

        private TorchThreads(int? threads)
        {
            _previous = TorchSharp.torch.get_num_threads();
            if (threads is int t && _previous != t) TorchSharp.torch.set_num_threads(t);
        }

        /// <summary>Sets the count (null: leave it).</summary>
        public static TorchThreads Use(int? threads) => new(threads);

        /// <summary>Sets the count for a phase of tiny operations under <see cref="EntkRuntime"/>'s policy.</summary>
        public static TorchThreads ForSmallOperations() => new(EntkRuntime.SmallOpThreads);

        public void Dispose()
        {
            if (TorchSharp.torch.get_num_threads() != _previous) TorchSharp.torch.set_num_threads(_previous);
        }
    }
}
