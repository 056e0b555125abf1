using System;
using System.Diagnostics;
using System.Globalization;
using Entk.Kernels;

namespace Entk.Cli
{
    /// <summary>
    /// Progress on the console: on a terminal, one redrawn line per stage with a bar; otherwise plain,
    /// line-based logs (a line when a stage starts, at every 25 %, and when it ends).
    /// </summary>
    internal sealed class ConsoleProgress : IProgress<EntkProgress>
    {
        private readonly bool _tty;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly object _gate = new();
        private string? _stage;
        private int _lastQuarter = -1;
        private long _lastDrawTicks;

        public ConsoleProgress(bool? tty = null)
        {
            _tty = tty ?? !Console.IsErrorRedirected;
        }

        public void Report(EntkProgress value)
        {
            lock (_gate)
            {
                bool newStage = value.Stage != _stage;
                if (newStage)
                {
                    if (_tty && _stage is not null) Console.Error.WriteLine();
                    _stage = value.Stage;
                    _lastQuarter = -1;
                }
                double frac = value.Total <= 0 ? 1 : Math.Clamp((double)value.Completed / value.Total, 0, 1);
                if (_tty)
                {
                    long now = _clock.ElapsedTicks;
                    if (!newStage && value.Completed < value.Total && now - _lastDrawTicks < Stopwatch.Frequency / 10) return;
                    _lastDrawTicks = now;
                    int width = 28, filled = (int)Math.Round(frac * width);
                    Console.Error.Write(string.Format(CultureInfo.InvariantCulture, "\r{0,-38} [{1}{2}] {3,5:0.0}% ({4}/{5}) {6,7:0.0}s",
                        Trim(value.Stage, 38), new string('#', filled), new string('.', width - filled), 100 * frac, value.Completed, value.Total, _clock.Elapsed.TotalSeconds));
                    if (value.Completed >= value.Total) { Console.Error.WriteLine(); _stage = null; }
                }
                else
                {
                    int quarter = (int)Math.Floor(frac * 4);
                    if (quarter == _lastQuarter) return;
                    _lastQuarter = quarter;
                    Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture, "[{0,7:0.0}s] {1}: {2}/{3} ({4:0}%)", _clock.Elapsed.TotalSeconds, value.Stage, value.Completed, value.Total, 100 * frac));
                }
            }
        }

        public void Log(string message)
        {
            lock (_gate)
            {
                if (_tty && _stage is not null) { Console.Error.WriteLine(); _stage = null; }
                Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture, "[{0,7:0.0}s] {1}", _clock.Elapsed.TotalSeconds, message));
            }
        }

        private static string Trim(string s, int n) => s.Length <= n ? s : s.Substring(0, n - 1) + "…";
    }
}
