using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Entk.Torch
{
    /// <summary>
    /// Process-wide set-up of the native numerical stack, done once when the Entk assembly loads.
    /// <para>Memory: on the virtual machines Entk is developed and tested on, a first touch of a fresh 4 KiB page costs
    /// about 13 µs, so libtorch's large temporaries (which glibc hands back to the kernel, or cannot reuse because of
    /// aligned-allocation fragmentation) made fresh-memory traffic the bottleneck (≈ 0.3 GB/s). Unless the process
    /// already sets them, Entk therefore asks libtorch for transparent huge pages on allocations ≥ 2 MiB
    /// (THP_MEM_ALLOC_ENABLE=1) and tunes glibc malloc (mmap threshold 32 MiB, trim threshold 1 GiB, top pad 64 MiB),
    /// which made 13–55 MB temporaries 7–14× cheaper. Set ENTK_NO_ALLOCATOR_TUNING=1 to keep the process defaults.</para>
    /// oneMKL (inside libtorch) may pick different code paths for the same call depending on memory
    /// alignment and run-time dispatch, so that repeating a computation in one process can change the last
    /// bits (observed: Lanczos eigenvalues differing by 2e-12). Entk therefore switches MKL's Conditional
    /// Numerical Reproducibility to AUTO (the same as the environment variable MKL_CBWR=AUTO) unless the
    /// process already has MKL_CBWR set. It touches no random-number state.
    /// </summary>
    internal static class TorchRuntime
    {
        private const int MklCbwrAuto = 2;
        private const int MTrimThreshold = -1, MTopPad = -2, MMmapThreshold = -3;

        [DllImport("libc", EntryPoint = "mallopt")]
        private static extern int Mallopt(int param, int value);

        [DllImport("libc", EntryPoint = "setenv")]
        private static extern int SetEnv([MarshalAs(UnmanagedType.LPStr)] string name, [MarshalAs(UnmanagedType.LPStr)] string value, int overwrite);

        [DllImport("libc", EntryPoint = "getenv")]
        private static extern IntPtr GetEnv([MarshalAs(UnmanagedType.LPStr)] string name);

        /// <summary>What allocator tuning was applied ("THP + malloc", "none (…)").</summary>
        public static string AllocatorTuning { get; private set; } = "not initialised";

        private static void TuneAllocator()
        {
            if (Environment.GetEnvironmentVariable("ENTK_NO_ALLOCATOR_TUNING") == "1" || !OperatingSystem.IsLinux())
            {
                AllocatorTuning = "none (ENTK_NO_ALLOCATOR_TUNING=1 or not Linux)";
                return;
            }
            var applied = new System.Collections.Generic.List<string>();
            if (GetEnv("THP_MEM_ALLOC_ENABLE") == IntPtr.Zero && SetEnv("THP_MEM_ALLOC_ENABLE", "1", 0) == 0) applied.Add("THP for libtorch allocations ≥ 2 MiB");
            if (GetEnv("MALLOC_MMAP_THRESHOLD_") == IntPtr.Zero && Mallopt(MMmapThreshold, 32 << 20) == 1) applied.Add("malloc mmap threshold 32 MiB");
            if (GetEnv("MALLOC_TRIM_THRESHOLD_") == IntPtr.Zero && Mallopt(MTrimThreshold, 1 << 30) == 1) applied.Add("trim threshold 1 GiB");
            if (GetEnv("MALLOC_TOP_PAD_") == IntPtr.Zero && Mallopt(MTopPad, 64 << 20) == 1) applied.Add("top pad 64 MiB");
            AllocatorTuning = applied.Count == 0 ? "none (set by the environment)" : string.Join(", ", applied);
        }

        /// <summary>The CNR mode MKL reports after initialisation ("AUTO", "set by MKL_CBWR=…", or why it is unavailable).</summary>
        public static string Reproducibility { get; private set; } = "not initialised";

#pragma warning disable CA2255 // Deliberate: MKL's reproducibility mode must be set before the first MKL call, i.e. when Entk loads.
        [ModuleInitializer]
        internal static void Initialize()
#pragma warning restore CA2255
        {
            try
            {
                TuneAllocator();
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                AllocatorTuning = "unavailable (" + e.GetType().Name + ")";
            }
            try
            {
                string? env = Environment.GetEnvironmentVariable("MKL_CBWR");
                if (!string.IsNullOrEmpty(env))
                {
                    Reproducibility = "set by MKL_CBWR=" + env;
                    return;
                }
                _ = torch.get_num_threads();
                if (!NativeLibrary.TryLoad("libtorch_cpu.so", typeof(torch).Assembly, null, out var h)
                    || !NativeLibrary.TryGetExport(h, "mkl_serv_cbwr_set", out var set))
                {
                    Reproducibility = "unavailable (no MKL CNR entry point)";
                    return;
                }
                int rc = SetCbwr(set, MklCbwrAuto);
                Reproducibility = rc == 0 ? "AUTO" : "could not be set (MKL returned " + rc + ")";
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException or NotSupportedException or ExternalException)
            {
                Reproducibility = "unavailable (" + e.GetType().Name + ")";
            }
        }

        private static unsafe int SetCbwr(IntPtr f, int mode) => ((delegate* unmanaged<int, int>)f)(mode);
    }
}

namespace Entk.Torch
{
    /// <summary>
    /// Temporarily sets libtorch's intra-op thread count and restores the previous value on dispose. Used by the
    /// training loops, whose tensors are tiny: with two OpenMP threads on a busy two-core machine they ran 10–30×
    /// slower (threads spin-waiting for a core) than with one, and one thread is no slower on an idle machine.
    /// Results do not depend on the thread count.
    /// </summary>
    internal sealed class TorchThreads : System.IDisposable
    {
        private readonly int _previous;

        private TorchThreads(int threads)
        {
            _previous = TorchSharp.torch.get_num_threads();
            if (_previous != threads) TorchSharp.torch.set_num_threads(threads);
        }

        public static TorchThreads Use(int threads) => new(threads);

        public void Dispose()
        {
            if (TorchSharp.torch.get_num_threads() != _previous) TorchSharp.torch.set_num_threads(_previous);
        }
    }
}
