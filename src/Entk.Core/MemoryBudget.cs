using System;

namespace Entk
{
    /// <summary>
    /// The memory budget Entk checks before materialising arrays whose size follows from user input. Estimates are
    /// computed with saturating arithmetic (<see cref="Product"/>, <see cref="Sum"/>): an estimate that would overflow
    /// becomes <see cref="long.MaxValue"/> and is always refused, never wrapped to a negative number that would pass.
    /// </summary>
    public static class MemoryBudget
    {
        /// <summary>
        /// The default budget: 40 % of the memory available to the process (as reported by the .NET
        /// runtime), at least 1 GiB. On a 24 GiB machine this is about 9.6 GiB.
        /// </summary>
        public static long DefaultBytes
        {
            get
            {
                long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
                if (total <= 0) total = 8L << 30;
                return Math.Max(1L << 30, (long)(0.4 * total));
            }
        }

        /// <summary>The product of non-negative factors, saturating at <see cref="long.MaxValue"/> instead of overflowing.</summary>
        /// <param name="factors">Non-negative factors (a negative factor is treated as an overflow and saturates).</param>
        /// <returns>The product, or <see cref="long.MaxValue"/>.</returns>
        public static long Product(params long[] factors)
        {
            ArgumentNullException.ThrowIfNull(factors);
            long r = 1;
            foreach (long f in factors)
            {
                if (f < 0) return long.MaxValue;
                if (f == 0) return 0;
            }
            foreach (long f in factors)
            {
                if (r > long.MaxValue / f) return long.MaxValue;
                r *= f;
            }
            return r;
        }

        /// <summary>The sum of non-negative terms, saturating at <see cref="long.MaxValue"/>.</summary>
        /// <param name="terms">Non-negative terms (a negative term saturates).</param>
        /// <returns>The sum, or <see cref="long.MaxValue"/>.</returns>
        public static long Sum(params long[] terms)
        {
            ArgumentNullException.ThrowIfNull(terms);
            long r = 0;
            foreach (long t in terms)
            {
                if (t < 0 || r > long.MaxValue - t) return long.MaxValue;
                r += t;
            }
            return r;
        }

        /// <summary>Refuses an estimate over the budget (or a saturated/negative one) before anything is allocated.</summary>
        /// <param name="what">What would be materialised (for the message).</param>
        /// <param name="estimate">Estimated bytes (from <see cref="Product"/>/<see cref="Sum"/>).</param>
        /// <param name="budget">The budget in bytes.</param>
        /// <param name="alternatives">What the caller can do instead (for the message).</param>
        /// <exception cref="MemoryBudgetExceededException">The estimate exceeds the budget.</exception>
        public static void Require(string what, long estimate, long budget, string alternatives)
        {
            if (estimate < 0) estimate = long.MaxValue;
            if (estimate > budget) throw new MemoryBudgetExceededException(what, estimate, budget, alternatives);
        }
    }
}
