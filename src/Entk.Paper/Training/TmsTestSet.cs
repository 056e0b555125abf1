using System;
using Entk.Internal;
using Entk.Torch;
using TorchSharp;
using static TorchSharp.torch;

namespace Entk.Training
{
    /// <summary>Fresh TMS inputs from the distribution of a run's dataset, reproducible from the run's seed.</summary>
    public static class TmsTestSet
    {
        /// <summary>
        /// Draws M inputs from the same distribution as <see cref="TmsSetup.Create"/>'s dataset (each feature 0 with
        /// probability S, else Uniform[0, 1], then x ← x/(‖x‖ + 1e-8)), from the same private generator seeded with
        /// <paramref name="seed"/>, continuing after the draws of the setup (W = randn(m, n), u = rand(D, n),
        /// v = rand(D, n)): u′ = rand(M, n), v′ = rand(M, n), x = (u′ &lt; S ? 0 : v′). So the test set is fixed by the seed,
        /// independent of the training set, and the training set is unchanged. The global RNG is not touched.
        /// </summary>
        /// <param name="config">The run's settings (n, m, S, D).</param>
        /// <param name="seed">The run's seed.</param>
        /// <param name="samples">M ≥ 1.</param>
        /// <returns>The inputs, M × n.</returns>
        public static Matrix Create(TmsConfig config, long seed, int samples)
        {
            Check.NotNull(config, nameof(config));
            config.Validate();
            Check.Positive(samples, nameof(samples));
            int n = config.Features, m = config.Hidden, d = config.Samples;
            using var scope = torch.NewDisposeScope();
            var g = new torch.Generator((ulong)seed, torch.CPU);
            // Replay the setup's draws (same order and shapes) so the stream continues where they ended.
            torch.randn(new long[] { m, n }, ScalarType.Float64, generator: g);
            torch.rand(new long[] { d, n }, ScalarType.Float64, generator: g);
            torch.rand(new long[] { d, n }, ScalarType.Float64, generator: g);
            var u = torch.rand(new long[] { samples, n }, ScalarType.Float64, generator: g);
            var v = torch.rand(new long[] { samples, n }, ScalarType.Float64, generator: g);
            var x = torch.where(u < config.Sparsity, torch.zeros_like(v), v);
            x = x / (x.norm(1, true) + 1e-8);
            return TorchOps.ToMatrix(x);
        }
    }
}
