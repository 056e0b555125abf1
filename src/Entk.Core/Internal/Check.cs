using System;
using System.Collections.Generic;
using System.Globalization;

namespace Entk.Internal
{
    /// <summary>Argument validation with invariant-culture messages (expected vs actual).</summary>
    internal static class Check
    {
        public static T NotNull<T>(T? value, string name) where T : class =>
            value ?? throw new ArgumentNullException(name);

        public static int Positive(int value, string name)
        {
            if (value <= 0) throw new EntkArgumentException(name, "a positive integer", value.ToString(CultureInfo.InvariantCulture));
            return value;
        }

        public static int NonNegative(int value, string name)
        {
            if (value < 0) throw new EntkArgumentException(name, "a non-negative integer", value.ToString(CultureInfo.InvariantCulture));
            return value;
        }

        public static int InRange(int value, int min, int max, string name)
        {
            if (value < min || value > max)
                throw new EntkArgumentException(name, Inv($"an integer in [{min}, {max}]"), value.ToString(CultureInfo.InvariantCulture));
            return value;
        }

        public static double Finite(double value, string name)
        {
            if (!double.IsFinite(value)) throw new NonFiniteValueException(name, "scalar", value);
            return value;
        }

        public static double InRange(double value, double min, double max, string name)
        {
            if (double.IsNaN(value) || value < min || value > max)
                throw new EntkArgumentException(name, Inv($"a number in [{R(min)}, {R(max)}]"), R(value));
            return value;
        }

        public static double PositiveFinite(double value, string name)
        {
            if (!double.IsFinite(value) || value <= 0)
                throw new EntkArgumentException(name, "a positive finite number", R(value));
            return value;
        }

        public static void AllFinite(ReadOnlySpan<double> values, string name, int columns = 0)
        {
            for (int i = 0; i < values.Length; i++)
            {
                if (!double.IsFinite(values[i]))
                {
                    string where = columns > 0 ? Inv($"[{i / columns}, {i % columns}]") : Inv($"[{i}]");
                    throw new NonFiniteValueException(name, name + where, values[i]);
                }
            }
        }

        public static string Shape(params long[] dims) => "[" + string.Join(", ", dims) + "]";

        public static string Shape(IReadOnlyList<int> dims) => "[" + string.Join(", ", dims) + "]";

        public static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

        public static string Inv(FormattableString s) => FormattableString.Invariant(s);
    }
}
