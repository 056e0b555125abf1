using System;
using System.Collections.Generic;
using System.Linq;
using Entk.Internal;

namespace Entk.Kernels
{
    /// <summary>How the eNTK is computed. Every method gives the same kernel (tested to 1e-10 in float64).</summary>
    public enum NtkMethod
    {
        /// <summary>Structured when the model has a structured rule for the request, otherwise Jacobian contraction.</summary>
        Auto,
        /// <summary>
        /// The reference: per-sample Jacobians by autograd (expanded weights where the model allows it,
        /// a loop otherwise), contracted over parameters by dgemm. Works for every model.
        /// </summary>
        JacobianContraction,
        /// <summary>
        /// Structured derivatives: closed forms and layer factorisations ((x·x')(δ·δ') for dense layers)
        /// that never form the N·C·P Jacobian. Only for models that provide them (TMS, the modular MLP,
        /// <see cref="Models.DenseNetwork"/>, <see cref="Models.LinearModel"/>).
        /// </summary>
        Structured,
        /// <summary>
        /// NTK-vector products K·v = J₁(J₂ᵀv) built from reverse-mode passes (a VJP, then a JVP by the
        /// double-VJP trick); the kernel is assembled column by column. Mainly for the matrix-free
        /// operator; slow for forming whole kernels.
        /// </summary>
        NtkVectorProducts,
    }

    /// <summary>Progress of a long computation (reported through <see cref="IProgress{T}"/>).</summary>
    public sealed class EntkProgress
    {
        /// <summary>Creates a report.</summary>
        /// <param name="stage">What is being done.</param>
        /// <param name="completed">Units done.</param>
        /// <param name="total">Units in all.</param>
        public EntkProgress(string stage, long completed, long total)
        {
            Stage = stage;
            Completed = completed;
            Total = total;
        }

        /// <summary>What is being done, e.g. "jacobian".</summary>
        public string Stage { get; }

        /// <summary>Units done.</summary>
        public long Completed { get; }

        /// <summary>Units in all.</summary>
        public long Total { get; }
    }

    /// <summary>An estimate of the peak extra memory of a computation, with the formula that produced it.</summary>
    public sealed class MemoryEstimate
    {
        /// <summary>Creates an estimate.</summary>
        /// <param name="bytes">Bytes.</param>
        /// <param name="formula">The formula with its terms filled in.</param>
        public MemoryEstimate(long bytes, string formula)
        {
            Bytes = bytes;
            Formula = formula;
        }

        /// <summary>Estimated peak bytes.</summary>
        public long Bytes { get; }

        /// <summary>The formula, e.g. "Jacobians 8·841·7·44544 B + … = 2.1 GiB".</summary>
        public string Formula { get; }

        /// <inheritdoc />
        public override string ToString() => Formula;
    }

    /// <summary>The floating-point type of the kernel contractions.</summary>
    public enum Precision
    {
        /// <summary>float64 throughout (the default; kernels agree with the reference to about 1e-12 relative).</summary>
        Float64,
        /// <summary>
        /// float32 for the contraction GEMMs of the layer-rule engine (factors and per-sample gradients are converted;
        /// the forward and backward passes run in the module's own dtype; kernels accumulate in float64). About twice as
        /// fast for large models; measured error against float64 is in the README ("Precision").
        /// </summary>
        Float32,
    }

    /// <summary>Options of an eNTK computation. All members have documented defaults.</summary>
    public sealed record NtkOptions
    {
        /// <summary>The method (default <see cref="NtkMethod.Auto"/>).</summary>
        public NtkMethod Method { get; init; } = NtkMethod.Auto;

        /// <summary>
        /// Optional output importances I_c (length C, positive). With <see cref="Beta"/> they rescale the
        /// kernel to K_cd · I_c^{β/2} · I_d^{β/2} (Jacobian row of output c multiplied by I_c^{β/2}).
        /// Default null: no rescaling.
        /// </summary>
        public IReadOnlyList<double>? Importance
        {
            get => _importance;
            init => _importance = value is null ? null : Array.AsReadOnly(value.ToArray());
        }

        private readonly IReadOnlyList<double>? _importance;

        /// <summary>The exponent β of the importance rescaling (default 0: no rescaling). Requires <see cref="Importance"/> when non-zero.</summary>
        public double Beta { get; init; }

        /// <summary>Memory budget in bytes (default <see cref="MemoryBudget.DefaultBytes"/>); larger requests are refused before allocation.</summary>
        public long? MemoryBudgetBytes { get; init; }

        /// <summary>Samples per chunk for per-sample Jacobians (default: chosen from the memory budget, at most 256).</summary>
        public int? ChunkSize { get; init; }

        /// <summary>Optional progress sink.</summary>
        public IProgress<EntkProgress>? Progress { get; init; }

        /// <summary>The floating-point type of the contractions (default <see cref="Kernels.Precision.Float64"/>).</summary>
        public Precision Precision { get; init; } = Precision.Float64;

        /// <summary>
        /// Extra layer rules for wrapped TorchSharp modules, tried before the built-in ones (<see cref="Rules.LayerRules.Default"/>).
        /// Default null: the built-in rules only.
        /// </summary>
        public IReadOnlyList<Rules.ILayerRule>? LayerRules
        {
            get => _rules;
            init => _rules = value is null ? null : Array.AsReadOnly(value.ToArray());
        }

        private readonly IReadOnlyList<Rules.ILayerRule>? _rules;

        internal long Budget => MemoryBudgetBytes ?? MemoryBudget.DefaultBytes;

        /// <summary>Validates the options against a model with C outputs and returns s_c = I_c^{β/2}.</summary>
        internal double[] OutputScales(int outputs)
        {
            Check.Finite(Beta, nameof(Beta));
            if (MemoryBudgetBytes is long b && b <= 0) throw new EntkArgumentException(nameof(MemoryBudgetBytes), "a positive number of bytes", b.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (ChunkSize is int cs && cs <= 0) throw new EntkArgumentException(nameof(ChunkSize), "a positive integer", cs.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var s = new double[outputs];
            if (Importance is null)
            {
                if (Beta != 0) throw new EntkArgumentException(nameof(Importance), "importances I_c when Beta ≠ 0", "null");
                Array.Fill(s, 1.0);
                return s;
            }
            if (Importance.Count != outputs)
                throw new ShapeMismatchException(nameof(Importance), Check.Inv($"[{outputs}] (one importance per output)"), Check.Inv($"[{Importance.Count}]"));
            for (int c = 0; c < outputs; c++)
            {
                double v = Importance[c];
                if (!double.IsFinite(v) || v <= 0) throw new EntkArgumentException(nameof(Importance), "positive finite importances", Check.R(v) + " at index " + c);
                s[c] = Math.Pow(v, Beta / 2);
            }
            return s;
        }
    }
}
