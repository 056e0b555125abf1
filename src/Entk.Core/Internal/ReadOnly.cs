using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Linq;

namespace Entk.Internal
{
    /// <summary>
    /// How results hand out collections (README, "Public API"): a read-only view of a private array that nothing else
    /// references, so a caller can neither change it nor cast it back to an array or list.
    /// </summary>
    internal static class ReadOnly
    {
        /// <summary>A read-only view of a private copy of <paramref name="items"/> (the caller keeps its own collection).</summary>
        public static ReadOnlyCollection<T> Copy<T>(IEnumerable<T> items) => Array.AsReadOnly(items.ToArray());

        /// <summary>A read-only view of an array the caller owns and will not change or hand out again.</summary>
        public static ReadOnlyCollection<T> View<T>(T[] owned) => Array.AsReadOnly(owned);
    }
}
