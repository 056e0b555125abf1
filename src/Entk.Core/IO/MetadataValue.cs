using System;
using System.Globalization;
using Entk.Internal;

namespace Entk.IO
{
    /// <summary>What a <see cref="MetadataValue"/> holds.</summary>
    public enum MetadataValueKind
    {
        /// <summary>A string (JSON string).</summary>
        String,

        /// <summary>A 64-bit integer (JSON number written without fraction or exponent).</summary>
        Integer,

        /// <summary>A finite float64 (JSON number written with a fraction or exponent).</summary>
        Number,
    }

    /// <summary>
    /// An immutable metadata value of a checkpoint (a hyperparameter or an info field): a string, an
    /// integer or a finite number. It round-trips through JSON with its kind: integers are written
    /// as <c>42</c>, numbers always with a fraction or exponent (<c>42.0</c>, <c>1E-05</c>).
    /// </summary>
    /// <example>
    /// C#: <c>MetadataValue.FromDouble(1e-3)</c> or simply <c>(MetadataValue)1e-3</c>.
    /// F#: <c>MetadataValue.FromInt64 42L</c>.
    /// </example>
    public sealed class MetadataValue : IEquatable<MetadataValue>
    {
        private readonly string? _string;
        private readonly long _integer;
        private readonly double _number;

        private MetadataValue(MetadataValueKind kind, string? s, long i, double d)
        {
            Kind = kind;
            _string = s;
            _integer = i;
            _number = d;
        }

        /// <summary>What the value holds.</summary>
        public MetadataValueKind Kind { get; }

        /// <summary>Whether the value is an integer or a number.</summary>
        public bool IsNumeric => Kind != MetadataValueKind.String;

        /// <summary>A string value.</summary>
        /// <param name="value">The string.</param>
        /// <returns>The value.</returns>
        public static MetadataValue FromString(string value) => new(MetadataValueKind.String, Check.NotNull(value, nameof(value)), 0, 0);

        /// <summary>An integer value.</summary>
        /// <param name="value">The integer.</param>
        /// <returns>The value.</returns>
        public static MetadataValue FromInt64(long value) => new(MetadataValueKind.Integer, null, value, 0);

        /// <summary>A number value (must be finite: JSON has no NaN or infinity).</summary>
        /// <param name="value">The number.</param>
        /// <returns>The value.</returns>
        /// <exception cref="NonFiniteValueException">The number is NaN or infinite.</exception>
        public static MetadataValue FromDouble(double value) => new(MetadataValueKind.Number, null, 0, Check.Finite(value, nameof(value)));

        /// <summary>Converts a string (C#).</summary>
        /// <param name="value">The string.</param>
        public static implicit operator MetadataValue(string value) => FromString(value);

        /// <summary>Converts an integer (C#).</summary>
        /// <param name="value">The integer.</param>
        public static implicit operator MetadataValue(long value) => FromInt64(value);

        /// <summary>Converts a finite number (C#).</summary>
        /// <param name="value">The number.</param>
        public static implicit operator MetadataValue(double value) => FromDouble(value);

        /// <summary>The value as text: the string itself, or the number in invariant culture (round-trip format).</summary>
        /// <returns>The text.</returns>
        public string AsString() => Kind switch
        {
            MetadataValueKind.String => _string!,
            MetadataValueKind.Integer => _integer.ToString(CultureInfo.InvariantCulture),
            _ => JsonNumberText(_number),
        };

        /// <summary>The value as a float64 (integers are converted).</summary>
        /// <returns>The number.</returns>
        /// <exception cref="InvalidOperationException">The value is a string.</exception>
        public double AsDouble() => Kind switch
        {
            MetadataValueKind.Integer => _integer,
            MetadataValueKind.Number => _number,
            _ => throw new InvalidOperationException("The metadata value \"" + _string + "\" is a string, not a number."),
        };

        /// <summary>The value as an integer (a number converts only when it is integral and in range).</summary>
        /// <returns>The integer.</returns>
        /// <exception cref="InvalidOperationException">The value is a string or a non-integral number.</exception>
        public long AsInt64()
        {
            if (Kind == MetadataValueKind.Integer) return _integer;
            if (Kind == MetadataValueKind.Number && Math.Floor(_number) == _number && _number >= -9.2233720368547758E18 && _number < 9.2233720368547758E18)
                return (long)_number;
            throw new InvalidOperationException("The metadata value " + ToString() + " is not an integer.");
        }

        /// <summary>The JSON text of a number: round-trip digits, always with a fraction or exponent.</summary>
        internal static string JsonNumberText(double d)
        {
            string s = d.ToString("R", CultureInfo.InvariantCulture);
            if (s.IndexOfAny(new[] { '.', 'E', 'e' }) < 0) s += ".0";
            return s;
        }

        /// <summary>Same kind and value (numbers compared bit for bit).</summary>
        /// <param name="other">The other value.</param>
        /// <returns>True when equal.</returns>
        public bool Equals(MetadataValue? other) =>
            other is not null && other.Kind == Kind && Kind switch
            {
                MetadataValueKind.String => string.Equals(_string, other._string, StringComparison.Ordinal),
                MetadataValueKind.Integer => _integer == other._integer,
                _ => BitConverter.DoubleToInt64Bits(_number) == BitConverter.DoubleToInt64Bits(other._number),
            };

        /// <inheritdoc />
        public override bool Equals(object? obj) => obj is MetadataValue m && Equals(m);

        /// <inheritdoc />
        public override int GetHashCode() => Kind switch
        {
            MetadataValueKind.String => HashCode.Combine(Kind, StringComparer.Ordinal.GetHashCode(_string!)),
            MetadataValueKind.Integer => HashCode.Combine(Kind, _integer),
            _ => HashCode.Combine(Kind, BitConverter.DoubleToInt64Bits(_number)),
        };

        /// <summary>The value as JSON would show it: strings quoted, numbers bare.</summary>
        /// <returns>The text.</returns>
        public override string ToString() => Kind == MetadataValueKind.String ? "\"" + _string + "\"" : AsString();
    }
}
