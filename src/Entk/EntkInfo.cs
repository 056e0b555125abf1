using System;
using System.Collections.Generic;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace Entk
{
    /// <summary>Facts about the running Entk stack (versions, threads, linear-algebra backends, runtime settings, float type).</summary>
    public sealed class EntkInfo
    {
        private EntkInfo(IReadOnlyList<KeyValuePair<string, string>> entries) => Entries = Internal.ReadOnly.Copy(entries);

        /// <summary>The facts as ordered (name, value) pairs.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Entries { get; }

        /// <summary>The value of one entry, or null.</summary>
        /// <param name="name">Entry name, e.g. "mkl".</param>
        /// <returns>The value or null.</returns>
        public string? this[string name]
        {
            get
            {
                foreach (var e in Entries) if (e.Key == name) return e.Value;
                return null;
            }
        }

        /// <summary>Entk's version.</summary>
        public static string Version => typeof(EntkInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
                                        ?? typeof(EntkInfo).Assembly.GetName().Version?.ToString() ?? "unknown";

        /// <summary>Collects the facts (loads libtorch if it is not loaded yet).</summary>
        /// <returns>The facts.</returns>
        public static EntkInfo Collect()
        {
            var e = new List<KeyValuePair<string, string>>();
            void Add(string k, string v) => e.Add(new KeyValuePair<string, string>(k, v));
            Add("entk", Version);
            Add("torchsharp", typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown");
            string libtorch;
            string threads;
            try
            {
                libtorch = torch.__version__;
                threads = torch.get_num_threads().ToString(CultureInfo.InvariantCulture);
            }
            catch (Exception ex)
            {
                libtorch = "failed to load: " + ex.Message;
                threads = "unknown";
            }
            Add("libtorch", libtorch);
            Add("dotnet", RuntimeInformation.FrameworkDescription);
            Add("os", RuntimeInformation.OSDescription + " (" + RuntimeInformation.OSArchitecture + ")");
            Add("cpus", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture));
            Add("threads", threads);
            Add("mkl", MklVersion() ?? "not found");
            Add("lapack", Linalg.Providers.TorchLinearAlgebra.Description);
            Add("linear algebra", Linalg.LinearAlgebraControl.Backend == Linalg.LinearAlgebraBackend.Auto
                ? "Auto (" + Linalg.LinearAlgebraControl.AutoRule + ")"
                : Linalg.LinearAlgebraControl.Backend + " (LinearAlgebraControl.Use scope)");
            Add("managed linear algebra", Linalg.Providers.ManagedLinearAlgebra.Description);
            var rt = EntkRuntime.Current;
            Add("runtime configured", rt.Configured ? "yes (EntkRuntime.Configure)" : "no (library defaults; call EntkRuntime.Configure)");
            Add("mkl reproducibility", rt.Reproducibility);
            Add("allocator", rt.AllocatorTuning);
            Add("thread policy", rt.Threads.ToString());
            Add("openmp wait policy", rt.OpenMpWaiting);
            Add("float", "float64");
            Add("memory budget", MemoryBudgetExceededException.FormatBytes(MemoryBudget.DefaultBytes));
            return new EntkInfo(e);
        }

        /// <summary>The oneMKL version string compiled into libtorch, or null when no MKL is present.</summary>
        /// <returns>Version text or null.</returns>
        public static unsafe string? MklVersion()
        {
            try
            {
                _ = torch.get_num_threads();
                if (!NativeLibrary.TryLoad("libtorch_cpu.so", typeof(torch).Assembly, null, out var h)) return null;
                if (!NativeLibrary.TryGetExport(h, "MKL_Get_Version_String", out var f)) return null;
                var buf = new byte[256];
                fixed (byte* p = buf)
                {
                    ((delegate* unmanaged<byte*, int, void>)f)(p, buf.Length);
                }
                int len = Array.IndexOf(buf, (byte)0);
                return Encoding.ASCII.GetString(buf, 0, len < 0 ? buf.Length : len).Trim();
            }
            catch (Exception)
            {
                return null;
            }
        }

        /// <summary>The facts as "name: value" lines.</summary>
        /// <returns>Multi-line text.</returns>
        public override string ToString()
        {
            var sb = new StringBuilder();
            foreach (var kv in Entries) sb.Append(kv.Key).Append(": ").Append(kv.Value).Append('\n');
            return sb.ToString();
        }
    }
}
