using System.CommandLine;
using Entk.Experiments;
using Entk.Internal;
using Entk.Linearization;

namespace Entk.Cli
{
    /// <summary>The options of the eNTK linearisation check on <c>entk tms</c>: --linearize, --ridge, --linearize-method.</summary>
    internal sealed class LinearizeOptions
    {
        private LinearizeOptions()
        {
        }

        public Option<bool> Linearize { get; } = new("--linearize")
        {
            Description = "Also run the eNTK linearisation check (docs/paper-notes.md §1.9): kernel regression with the flattened eNTK (β = 0) fitted on the D training inputs, " +
                          "evaluated on a fresh seeded test set of D inputs; writes test_inputs.npy, linearization.json and linearization.png per model.",
        };

        public Option<string> Ridge { get; } = new("--ridge") { Description = "Absolute ridges λ of the linearisation check, comma-separated (needs --linearize).", DefaultValueFactory = _ => "1e-4,5e-4,1" };

        public Option<string> Method { get; } = new("--linearize-method")
        {
            Description = "Linear solve of the linearisation check: auto (parameter side when P ≤ N·C), parameter-side, dense, cg (matrix-free preconditioned conjugate gradient).",
            DefaultValueFactory = _ => "auto",
        };

        public static LinearizeOptions Create() => new();

        public void AddTo(Command c)
        {
            c.Options.Add(Linearize);
            c.Options.Add(Ridge);
            c.Options.Add(Method);
        }

        /// <summary>The analysis options with the linearisation settings applied; --ridge or --linearize-method without --linearize is an error.</summary>
        public TmsAnalysisOptions Apply(ParseResult p, TmsAnalysisOptions options)
        {
            bool on = p.GetValue(Linearize);
            if (!on)
            {
                if (p.GetResult(Ridge) is { Implicit: false }) throw new EntkArgumentException("--ridge", "--linearize as well", "--ridge without --linearize");
                if (p.GetResult(Method) is { Implicit: false }) throw new EntkArgumentException("--linearize-method", "--linearize as well", "--linearize-method without --linearize");
                return options;
            }
            string m = p.GetValue(Method)!;
            var method = m switch
            {
                "auto" => LinearSolveMethod.Auto,
                "parameter-side" => LinearSolveMethod.ParameterSide,
                "dense" => LinearSolveMethod.DenseCholesky,
                "cg" => LinearSolveMethod.ConjugateGradient,
                _ => throw new EntkArgumentException("--linearize-method", "one of auto, parameter-side, dense, cg", "'" + m + "'"),
            };
            var ridges = Commands.ParseDoubles(p.GetValue(Ridge)!, "--ridge");
            foreach (var r in ridges)
                if (!(r > 0)) throw new EntkArgumentException("--ridge", "positive ridges", Check.R(r));
            return options with { Linearize = true, LinearizationRidges = ridges, LinearizationMethod = method };
        }
    }
}
