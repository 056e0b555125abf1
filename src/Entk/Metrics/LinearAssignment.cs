using System;
using System.Collections.Generic;
using System.Globalization;
using Entk.Internal;

namespace Entk.Metrics
{
    /// <summary>An optimal one-to-one assignment between the rows and the columns of a (possibly rectangular) matrix. Immutable.</summary>
    public sealed class AssignmentResult
    {
        internal AssignmentResult(int[] rowToColumn, int[] columnToRow, double total)
        {
            RowToColumn = Array.AsReadOnly(rowToColumn);
            ColumnToRow = Array.AsReadOnly(columnToRow);
            Total = total;
            PairCount = Math.Min(rowToColumn.Length, columnToRow.Length);
        }

        /// <summary>For each row, its assigned column, or −1 when the row is unassigned (more rows than columns).</summary>
        public IReadOnlyList<int> RowToColumn { get; }

        /// <summary>For each column, its assigned row, or −1 when the column is unassigned (more columns than rows).</summary>
        public IReadOnlyList<int> ColumnToRow { get; }

        /// <summary>Number of matched pairs = min(rows, columns).</summary>
        public int PairCount { get; }

        /// <summary>Sum of the matrix entries over the matched pairs (the optimum).</summary>
        public double Total { get; }

        /// <summary>Total / PairCount.</summary>
        public double Mean => Total / PairCount;

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "{0} pairs, total {1:G6}", PairCount, Total);
    }

    /// <summary>
    /// The rectangular linear assignment problem, solved exactly by the Hungarian algorithm with
    /// potentials (Kuhn–Munkres in the O(r²c) shortest-augmenting-path form, r ≤ c; the matrix is
    /// transposed internally when r &gt; c). Exactly min(r, c) pairs are matched.
    /// </summary>
    public static class LinearAssignment
    {
        /// <summary>The assignment maximising the sum of the matched entries.</summary>
        /// <param name="scores">r × c matrix, r, c ≥ 1, finite.</param>
        /// <returns>The optimal assignment; Total is the maximum.</returns>
        /// <exception cref="ArgumentNullException">scores is null.</exception>
        /// <exception cref="ShapeMismatchException">Empty matrix.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity.</exception>
        public static AssignmentResult Maximize(Matrix scores) => Solve(scores, nameof(scores), maximize: true);

        /// <summary>The assignment minimising the sum of the matched entries.</summary>
        /// <param name="costs">r × c matrix, r, c ≥ 1, finite.</param>
        /// <returns>The optimal assignment; Total is the minimum.</returns>
        /// <exception cref="ArgumentNullException">costs is null.</exception>
        /// <exception cref="ShapeMismatchException">Empty matrix.</exception>
        /// <exception cref="NonFiniteValueException">NaN or ±Infinity.</exception>
        public static AssignmentResult Minimize(Matrix costs) => Solve(costs, nameof(costs), maximize: false);

        private static AssignmentResult Solve(Matrix m, string name, bool maximize)
        {
            MetricsUtil.NonEmptyFinite(m, name);
            int rows = m.Rows, cols = m.Columns;
            bool transpose = rows > cols;
            int n = transpose ? cols : rows, k = transpose ? rows : cols;
            var src = m.Span;
            // cost[i][j], 1-based, n ≤ k.
            var cost = new double[n + 1, k + 1];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < k; j++)
                {
                    double v = transpose ? src[j * cols + i] : src[i * cols + j];
                    cost[i + 1, j + 1] = maximize ? -v : v;
                }
            var u = new double[n + 1];
            var v2 = new double[k + 1];
            var p = new int[k + 1];     // p[j] = row matched to column j (0 = none)
            var way = new int[k + 1];
            for (int i = 1; i <= n; i++)
            {
                p[0] = i;
                int j0 = 0;
                var minv = new double[k + 1];
                var used = new bool[k + 1];
                Array.Fill(minv, double.PositiveInfinity);
                do
                {
                    used[j0] = true;
                    int i0 = p[j0], j1 = 0;
                    double delta = double.PositiveInfinity;
                    for (int j = 1; j <= k; j++)
                    {
                        if (used[j]) continue;
                        double cur = cost[i0, j] - u[i0] - v2[j];
                        if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                        if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                    }
                    for (int j = 0; j <= k; j++)
                    {
                        if (used[j]) { u[p[j]] += delta; v2[j] -= delta; }
                        else minv[j] -= delta;
                    }
                    j0 = j1;
                }
                while (p[j0] != 0);
                do
                {
                    int j1 = way[j0];
                    p[j0] = p[j1];
                    j0 = j1;
                }
                while (j0 != 0);
            }
            var rowToCol = new int[rows];
            var colToRow = new int[cols];
            Array.Fill(rowToCol, -1);
            Array.Fill(colToRow, -1);
            double total = 0;
            for (int j = 1; j <= k; j++)
            {
                if (p[j] == 0) continue;
                int r = transpose ? j - 1 : p[j] - 1;
                int c = transpose ? p[j] - 1 : j - 1;
                rowToCol[r] = c;
                colToRow[c] = r;
                total += src[r * cols + c];
            }
            return new AssignmentResult(rowToCol, colToRow, total);
        }
    }
}
