using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Entk.Internal;
using TorchSharp;

namespace Entk
{
    /// <summary>How libtorch's intra-op threads are used.</summary>
    public enum ThreadPolicy
    {
        /// <summary>
        /// Entk chooses per phase: phases made of many tiny operations (training loops, per-sample autograd loops) run on
        /// one thread, large GEMM and eigensolver phases on all of libtorch's threads (see the README, "Threads").
        /// </summary>
        Auto,
        /// <summary>Every phase runs on one thread (for processes that share the cores with other work).</summary>
        Single,
        /// <summary>Entk never changes libtorch's thread count (the process or the caller decides).</summary>
        Unmanaged,
    }

    /// <summary>Options of <see cref="EntkRuntime.Configure"/>. Every member has a documented default.</summary>
    public sealed record RuntimeOptions
    {
        /// <summary>
        /// Tune glibc malloc (default true): mmap threshold 32 MiB, trim threshold 1 GiB and top pad 64 MiB, each unless the
        /// environment already sets it, so that freed temporaries are reused instead of being returned to the kernel and
        /// faulted in again (a first touch of a fresh page cost about 13 µs on the virtual machines Entk was measured on).
        /// </summary>
        public bool TuneAllocator { get; init; } = true;

        /// <summary>
        /// Ask libtorch for transparent huge pages on allocations ≥ 2 MiB (THP_MEM_ALLOC_ENABLE=1; default false). Fewer page
        /// faults for large fresh tensors, but together with the malloc tuning the 2 MiB-aligned blocks fragment the heap:
        /// measured, a Lanczos run on a 6,000-dimensional layer-rule operator grew the resident memory by 870 MB instead of
        /// 25 MB, which no memory estimate can honestly account for. Takes effect only before libtorch's first allocation.
        /// </summary>
        public bool TransparentHugePages { get; init; }

        /// <summary>
        /// Switch oneMKL's conditional numerical reproducibility to AUTO (default true; skipped when MKL_CBWR is set), so
        /// that repeating a computation in one process gives bit-identical results (without it, MKL may pick different
        /// code paths depending on buffer alignment: observed Lanczos eigenvalues differing by 2e-12).
        /// </summary>
        public bool Reproducible { get; init; } = true;

        /// <summary>The thread policy (default <see cref="ThreadPolicy.Auto"/>).</summary>
        public ThreadPolicy Threads { get; init; } = ThreadPolicy.Auto;
    }

    /// <summary>What <see cref="EntkRuntime"/> has applied to the process (immutable snapshot).</summary>
    public sealed class RuntimeSettings
    {
        internal RuntimeSettings(bool configured, string allocator, string reproducibility, ThreadPolicy threads, string waitPolicy)
        {
            OpenMpWaiting = waitPolicy;
            Configured = configured;
            AllocatorTuning = allocator;
            Reproducibility = reproducibility;
            Threads = threads;
        }

        /// <summary>Whether <see cref="EntkRuntime.Configure"/> has run in this process.</summary>
        public bool Configured { get; }

        /// <summary>The allocator tuning in effect, e.g. "THP for libtorch allocations ≥ 2 MiB, malloc mmap threshold 32 MiB, …" or "none (…)".</summary>
        public string AllocatorTuning { get; }

        /// <summary>oneMKL's reproducibility mode as set by Entk ("AUTO", "set by MKL_CBWR=…", "not set (…)").</summary>
        public string Reproducibility { get; }

        /// <summary>The thread policy Entk applies.</summary>
        public ThreadPolicy Threads { get; }

        /// <summary>A description of OpenMP's wait policy as Entk left it ("PASSIVE (set by Entk)", "set by OMP_WAIT_POLICY=…", or why not).</summary>
        public string OpenMpWaiting { get; }

        /// <inheritdoc />
        public override string ToString() => "allocator: " + AllocatorTuning + "; mkl reproducibility: " + Reproducibility + "; threads: " + Threads + "; OpenMP wait policy: " + OpenMpWaiting;
    }

    /// <summary>
    /// The one explicit entry point for process-wide native settings. Loading Entk changes nothing in the process;
    /// a program (the <c>entk</c> command does) or a library user opts in by calling <see cref="Configure"/> once at
    /// start-up, before the first tensor operation and before other threads read the environment (it calls glibc
    /// <c>setenv</c> and <c>mallopt</c>, which are not thread-safe). <see cref="Current"/> and <see cref="EntkInfo"/>
    /// report what is in effect. Without <see cref="Configure"/>, results are the same up to the last bits of some
    /// MKL routines (see <see cref="RuntimeOptions.Reproducible"/>) and large allocations may be slower.
    /// </summary>
    /// <example>
    /// C#: <c>EntkRuntime.Configure();</c> F#: <c>EntkRuntime.Configure() |> ignore</c>
    /// </example>
    public static class EntkRuntime
    {
        private const int MklCbwrAuto = 2;
        private const int MTrimThreshold = -1, MTopPad = -2, MMmapThreshold = -3;
        private static readonly object Gate = new();
        private static RuntimeSettings _current = new(false, "none (EntkRuntime.Configure not called)", "not set (EntkRuntime.Configure not called)", ThreadPolicy.Auto,
            "not set (EntkRuntime.Configure not called)");

        [DllImport("libc", EntryPoint = "mallopt")]
        private static extern int Mallopt(int param, int value);

        [DllImport("libc", EntryPoint = "setenv")]
        private static extern int SetEnv([MarshalAs(UnmanagedType.LPStr)] string name, [MarshalAs(UnmanagedType.LPStr)] string value, int overwrite);

        [DllImport("libc", EntryPoint = "getenv")]
        private static extern IntPtr GetEnv([MarshalAs(UnmanagedType.LPStr)] string name);

        /// <summary>What is in effect now.</summary>
        public static RuntimeSettings Current
        {
            get
            {
                lock (Gate) return _current;
            }
        }

        /// <summary>
        /// Applies the allocator tuning, MKL reproducibility and thread policy. Idempotent: a second call with the same
        /// options changes nothing; a later call can change the thread policy (allocator and MKL settings, once applied,
        /// stay). Never throws for an unavailable native facility: the returned settings say what could not be applied.
        /// </summary>
        /// <param name="options">Options (default: all on, <see cref="ThreadPolicy.Auto"/>).</param>
        /// <returns>The settings now in effect.</returns>
        public static RuntimeSettings Configure(RuntimeOptions? options = null)
        {
            var o = options ?? new RuntimeOptions();
            if (!Enum.IsDefined(o.Threads)) throw new EntkArgumentException(nameof(options) + ".Threads", "a defined ThreadPolicy", o.Threads.ToString());
            lock (Gate)
            {
                string allocator = _current.Configured && (_current.AllocatorTuning.StartsWith("THP", StringComparison.Ordinal) || _current.AllocatorTuning.StartsWith("malloc", StringComparison.Ordinal)) ? _current.AllocatorTuning
                    : o.TuneAllocator || o.TransparentHugePages ? TuneAllocator(o.TuneAllocator, o.TransparentHugePages) : "none (RuntimeOptions.TuneAllocator = false)";
                // OpenMP reads its wait policy when libtorch's libgomp loads: set passive waiting first (SetReproducible loads it).
                // Idle OpenMP threads then sleep instead of spinning, which on a machine whose cores are shared made two threads
                // slower than one by up to 30× (a 1,000² eigh took 5.9 s instead of 0.17 s).
                string waitPolicy = _current.OpenMpWaiting;
                if (o.Threads != ThreadPolicy.Unmanaged && !_current.Configured) waitPolicy = SetPassiveWaiting();
                string repro = _current.Reproducibility == "AUTO" ? "AUTO" : o.Reproducible ? SetReproducible() : "not set (RuntimeOptions.Reproducible = false)";
                _current = new RuntimeSettings(true, allocator, repro, o.Threads, waitPolicy);
                if (o.Threads == ThreadPolicy.Single) torch.set_num_threads(1);
                return _current;
            }
        }

        private static string TuneAllocator(bool malloc, bool thp)
        {
            if (!OperatingSystem.IsLinux()) return "none (not Linux)";
            try
            {
                var applied = new List<string>();
                if (thp && GetEnv("THP_MEM_ALLOC_ENABLE") == IntPtr.Zero && SetEnv("THP_MEM_ALLOC_ENABLE", "1", 0) == 0) applied.Add("THP for libtorch allocations ≥ 2 MiB");
                if (malloc && GetEnv("MALLOC_MMAP_THRESHOLD_") == IntPtr.Zero && Mallopt(MMmapThreshold, 32 << 20) == 1) applied.Add("malloc mmap threshold 32 MiB");
                if (malloc && GetEnv("MALLOC_TRIM_THRESHOLD_") == IntPtr.Zero && Mallopt(MTrimThreshold, 1 << 30) == 1) applied.Add("trim threshold 1 GiB");
                if (malloc && GetEnv("MALLOC_TOP_PAD_") == IntPtr.Zero && Mallopt(MTopPad, 64 << 20) == 1) applied.Add("top pad 64 MiB");
                return applied.Count == 0 ? "none (set by the environment)" : string.Join(", ", applied);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return "unavailable (" + e.GetType().Name + ")";
            }
        }

        private static string SetPassiveWaiting()
        {
            try
            {
                string? env = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY");
                if (!string.IsNullOrEmpty(env)) return "set by OMP_WAIT_POLICY=" + env;
                if (!OperatingSystem.IsLinux()) return "not set (not Linux)";
                return SetEnv("OMP_WAIT_POLICY", "PASSIVE", 0) == 0 ? "PASSIVE (set by Entk; takes effect if libtorch was not loaded yet)" : "not set (setenv failed)";
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return "not set (" + e.GetType().Name + ")";
            }
        }

        private static string SetReproducible()
        {
            try
            {
                string? env = Environment.GetEnvironmentVariable("MKL_CBWR");
                if (!string.IsNullOrEmpty(env)) return "set by MKL_CBWR=" + env;
                _ = torch.get_num_threads();
                if (!NativeLibrary.TryLoad("libtorch_cpu.so", typeof(torch).Assembly, null, out var h)
                    || !NativeLibrary.TryGetExport(h, "mkl_serv_cbwr_set", out var set))
                    return "unavailable (no MKL CNR entry point)";
                int rc = SetCbwr(set, MklCbwrAuto);
                return rc == 0 ? "AUTO" : Check.Inv($"could not be set (MKL returned {rc})");
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException or NotSupportedException or ExternalException)
            {
                return "unavailable (" + e.GetType().Name + ")";
            }
        }

        private static unsafe int SetCbwr(IntPtr f, int mode) => ((delegate* unmanaged<int, int>)f)(mode);

        /// <summary>The thread count for a phase of many tiny operations under the current policy (null: leave libtorch's count).</summary>
        internal static int? SmallOpThreads => Current.Threads == ThreadPolicy.Unmanaged ? null : 1;

        /// <summary>The thread count for a phase of large GEMMs/eigensolvers under the current policy (null: leave libtorch's count).</summary>
        internal static int? LargeOpThreads => Current.Threads switch
        {
            ThreadPolicy.Single => 1,
            ThreadPolicy.Unmanaged => null,
            _ => null,
        };
    }
}
