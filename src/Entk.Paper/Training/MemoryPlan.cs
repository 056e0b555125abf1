using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;
using Entk.Internal;

namespace Entk.Training
{
    /// <summary>One array of a <see cref="MemoryPlan"/>: what it is, its float64 element count and how many copies live at once.</summary>
    public sealed class PlannedArray
    {
        internal PlannedArray(string what, long elements, long copies, string sizes)
        {
            What = what;
            Elements = elements;
            Copies = copies;
            Sizes = sizes;
        }

        /// <summary>What the array is, with its shape in words (e.g. "dataset D × n = 500 × 50").</summary>
        public string What { get; }

        /// <summary>Elements of one copy (saturated at <see cref="long.MaxValue"/>).</summary>
        public long Elements { get; }

        /// <summary>Copies alive at the peak (tensor + managed copy, temporaries of the same size, checkpoints, …).</summary>
        public long Copies { get; }

        /// <summary>The settings its size follows from (e.g. "Samples, Features"), for messages.</summary>
        public string Sizes { get; }

        /// <summary>Bytes of all copies (8 per element, saturating).</summary>
        public long Bytes => MemoryBudget.Product(8, Elements, Copies);
    }

    /// <summary>
    /// Entk's one mechanism for arrays whose size follows from user input (datasets, models, training buffers, checkpoints,
    /// spectra): every such array is listed with its element count, computed with saturating arithmetic
    /// (<see cref="MemoryBudget.Product"/>), and the total is checked against the memory budget by <see cref="Require"/> before
    /// anything is allocated. A single array larger than one .NET array can hold is refused as well. The training recipes
    /// (<see cref="TmsSetup.Create"/>, <see cref="TmsTraining.Train"/>, <see cref="MlpSetup.Create"/>, <see cref="MlpTraining.Train"/>)
    /// check their plans themselves; the experiments and the CLI check the plan of the whole run before it starts.
    /// Immutable: <see cref="Add"/> returns a new plan.
    /// </summary>
    public sealed class MemoryPlan
    {
        private readonly PlannedArray[] _items;

        private MemoryPlan(PlannedArray[] items)
        {
            _items = items;
        }

        /// <summary>An empty plan.</summary>
        public static MemoryPlan Empty { get; } = new(Array.Empty<PlannedArray>());

        /// <summary>The planned arrays.</summary>
        public IReadOnlyList<PlannedArray> Items => new ReadOnlyCollection<PlannedArray>(_items);

        /// <summary>Total bytes (saturating at <see cref="long.MaxValue"/>).</summary>
        public long Bytes => MemoryBudget.Sum(_items.Select(i => i.Bytes).ToArray());

        /// <summary>The largest single array's element count.</summary>
        public long LargestArrayElements => _items.Length == 0 ? 0 : _items.Max(i => i.Elements);

        /// <summary>A plan with one more array.</summary>
        /// <param name="what">What it is, with its shape in words.</param>
        /// <param name="sizes">The settings its size follows from (for messages).</param>
        /// <param name="copies">Copies alive at the peak (≥ 0).</param>
        /// <param name="dimensions">The dimensions (non-negative; the product saturates).</param>
        /// <returns>The new plan.</returns>
        public MemoryPlan Add(string what, string sizes, long copies, params long[] dimensions)
        {
            Check.NotNull(what, nameof(what));
            Check.NotNull(sizes, nameof(sizes));
            Check.NotNull(dimensions, nameof(dimensions));
            if (copies < 0) throw new EntkArgumentException(nameof(copies), "a non-negative count", copies.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var items = new PlannedArray[_items.Length + 1];
            _items.CopyTo(items, 0);
            items[^1] = new PlannedArray(what, MemoryBudget.Product(dimensions), copies, sizes);
            return new MemoryPlan(items);
        }

        /// <summary>This plan followed by another's arrays.</summary>
        /// <param name="other">The other plan.</param>
        /// <returns>The combined plan.</returns>
        public MemoryPlan Concat(MemoryPlan other)
        {
            Check.NotNull(other, nameof(other));
            return new MemoryPlan(_items.Concat(other._items).ToArray());
        }

        /// <summary>The itemised estimate, e.g. "dataset D × n = 500 × 50 (×6) 1.14 MiB + … = 3.2 MiB".</summary>
        /// <returns>Text.</returns>
        public override string ToString() =>
            string.Join(" + ", _items.Where(i => i.Bytes > 0).OrderByDescending(i => i.Bytes).Take(4).Select(i =>
                i.What + (i.Copies == 1 ? "" : Check.Inv($" (×{i.Copies})")) + " " + MemoryBudgetExceededException.FormatBytes(i.Bytes)))
            + (_items.Count(i => i.Bytes > 0) > 4 ? " + …" : "") + " = " + MemoryBudgetExceededException.FormatBytes(Bytes);

        /// <summary>
        /// Refuses the plan before anything is allocated when its total exceeds the budget (or saturates), or when one of its
        /// arrays has more elements than a .NET array can hold (<see cref="Array.MaxLength"/>; checked second, so that on
        /// ordinary machines a too-large run is reported as over the budget).
        /// </summary>
        /// <param name="what">What would be computed (for the message), e.g. "the TMS run m10_S0.3".</param>
        /// <param name="budgetBytes">The budget (default <see cref="MemoryBudget.DefaultBytes"/>).</param>
        /// <param name="alternatives">What to change instead (for the message).</param>
        /// <exception cref="MemoryBudgetExceededException">The plan does not fit the budget.</exception>
        /// <exception cref="EntkArgumentException">One array would have more elements than a .NET array can hold (the parameter name lists the settings its size follows from).</exception>
        public void Require(string what, long? budgetBytes = null, string? alternatives = null)
        {
            Check.NotNull(what, nameof(what));
            long budget = budgetBytes ?? MemoryBudget.DefaultBytes;
            if (budget <= 0) throw new EntkArgumentException(nameof(budgetBytes), "a positive number of bytes", budget.ToString(System.Globalization.CultureInfo.InvariantCulture));
            string alt = alternatives ?? "Use smaller sizes (" + string.Join("; ", _items.Where(i => i.Bytes > 0).OrderByDescending(i => i.Bytes).Select(i => i.Sizes).Distinct().Take(3)) + ").";
            MemoryBudget.Require(what + " (" + ToString() + ")", Bytes, budget, alt);
            var huge = _items.FirstOrDefault(i => i.Elements > Array.MaxLength);
            if (huge is not null)
                throw new EntkArgumentException(huge.Sizes, Check.Inv($"sizes for which every array has at most {Array.MaxLength:N0} elements (the most one array can hold)"),
                    Check.Inv($"{huge.What} with {FormatCount(huge.Elements)} elements"), "Nothing was allocated.");
        }

        private static string FormatCount(long n) => n == long.MaxValue ? "more than 9.2e18" : n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
    }
}
