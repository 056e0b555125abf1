using System.Globalization;
using System.Text;

namespace Entk.Plotting
{
    /// <summary>Accumulates the shared long-format CSV of <see cref="Figure.ToCsv"/>.</summary>
    internal sealed class CsvBuilder
    {
        internal const string Header = "panel,panel_title,kind,series,row,column,x,value,shown";

        private readonly StringBuilder _sb = new StringBuilder(Header + "\n");

        /// <summary>Index of the panel the next lines belong to (0 for a single panel).</summary>
        public int PanelIndex { get; set; }

        public void Add(string panelTitle, string kind, string? series, int? row, int? column, double? x, double? value, double? shown)
        {
            _sb.Append(PanelIndex.ToString(CultureInfo.InvariantCulture)).Append(',')
               .Append(Quote(panelTitle)).Append(',')
               .Append(kind).Append(',')
               .Append(series is null ? "" : Quote(series)).Append(',')
               .Append(row?.ToString(CultureInfo.InvariantCulture) ?? "").Append(',')
               .Append(column?.ToString(CultureInfo.InvariantCulture) ?? "").Append(',')
               .Append(Num(x)).Append(',')
               .Append(Num(value)).Append(',')
               .Append(Num(shown)).Append('\n');
        }

        public override string ToString() => _sb.ToString();

        private static string Num(double? v) => v.HasValue ? v.Value.ToString("R", CultureInfo.InvariantCulture) : "";

        private static string Quote(string s)
        {
            if (s.IndexOfAny(new[] { ',', '"', '\n', '\r' }) < 0) return s;
            return "\"" + s.Replace("\"", "\"\"") + "\"";
        }
    }
}
