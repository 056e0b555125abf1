using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using Entk.IO;
using NUnit.Framework;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// The suite must catch a wrong C# result. Each test copies a small case folder, perturbs one C# output (one kernel
    /// entry or one eigenvalue by 1e-6 relative, one Jacobian sign, a 1e-4 rad eigenvector rotation, one metric by 1e-6),
    /// re-runs the same bridge comparison and the same <see cref="ParityChecks"/>, and asserts that exactly the expected
    /// checks now fail — and that a sign flip of an eigenvector (which is no error) still passes.
    /// </summary>
    [TestFixture]
    public sealed class PerturbationTests
    {
        private static TmsCase Tms => ParityCases.TmsByName("TmsSmall_N10M5_Seed0");

        private static MlpCase Mlp => ParityCases.MlpByName("MlpSmall_P7H16_Seed0");

        [Test]
        public void TmsComparison_UnperturbedCopy_Passes()
        {
            var rep = CheckTmsCopy("copy", _ => { });
            Assert.That(rep.Violations, Is.Empty, rep.Table());
        }

        [Test]
        public void TmsComparison_KernelEntryPerturbed1e6Relative_FailsKernelTolerance()
        {
            var rep = CheckTmsCopy("kernel", d =>
            {
                string f = Path.Combine(d, "kernel_flat_beta1.npy");
                double scale = Npy.Read(f).Float64().Max(Math.Abs);
                ParityArrays.Perturb(f, 3L * 400 + 17, v => v + 1e-6 * scale);
            });
            AssertViolations(rep, "beta1.kernel.max_rel_err");
            Assert.That(rep.MaxMeasured("beta1.kernel.max_rel_err"), Is.EqualTo(1e-6).Within(1e-8));
        }

        [Test]
        public void TmsComparison_EigenvaluePerturbed1e6Relative_FailsEigenvalueTolerance()
        {
            var rep = CheckTmsCopy("eigenvalue", d => ParityArrays.Perturb(Path.Combine(d, "eigenvalues_beta0.npy"), 5, v => v * (1 + 1e-6)));
            // The residual ‖K e − λ e‖ uses the C# eigenvalue too, so it trips as well.
            AssertViolations(rep, "beta0.eigenvalues.max_rel_err", "beta0.eigenpairs.residual");
            Assert.That(rep.MaxMeasured("beta0.eigenvalues.max_rel_err"), Is.EqualTo(1e-6).Within(1e-8));
        }

        [Test]
        public void TmsComparison_JacobianEntrySignFlipped_FailsJacobianTolerance()
        {
            var rep = CheckTmsCopy("jacobian", d =>
            {
                string f = Path.Combine(d, "jacobian.npy");
                double[] j = Npy.Read(f).Float64();
                int i = Array.IndexOf(j, j.OrderByDescending(Math.Abs).First());
                ParityArrays.Perturb(f, i, v => -v);
            });
            AssertViolations(rep, "jacobian.max_rel_err");
        }

        [Test]
        public void TmsComparison_EigenvectorsRotated1e4Rad_FailsSubspaceAngleAndResidual()
        {
            var rep = CheckTmsCopy("rotation", d => ParityArrays.Rewrite(Path.Combine(d, "eigenvectors_beta1.npy"), (v, shape) =>
            {
                // Rotate columns 2 and 3 (distinct eigenvalues) into each other by 1e-4 rad.
                int rows = shape[0], k = shape[1];
                double c = Math.Cos(1e-4), s = Math.Sin(1e-4);
                for (int i = 0; i < rows; i++)
                {
                    double a = v[i * k + 2], b = v[i * k + 3];
                    v[i * k + 2] = c * a - s * b;
                    v[i * k + 3] = s * a + c * b;
                }
            }));
            Assert.That(rep.Violations, Does.Contain("beta1.eigenvectors.max_angle_blocks_rad"), rep.Table());
            Assert.That(rep.Violations, Does.Contain("beta1.eigenpairs.residual"), rep.Table());
            Assert.That(rep.Violations.All(v => v.Contains("beta1.", StringComparison.Ordinal)), "only β = 1 was touched\n" + rep.Table());
            Assert.That(rep.MaxMeasured("beta1.eigenvectors.max_angle_blocks_rad"), Is.EqualTo(1e-4).Within(1e-7));
        }

        [Test]
        public void TmsComparison_EigenvectorSignFlipped_StillPasses()
        {
            var rep = CheckTmsCopy("sign", d => ParityArrays.Rewrite(Path.Combine(d, "eigenvectors_beta1.npy"), (v, shape) =>
            {
                int rows = shape[0], k = shape[1];
                for (int i = 0; i < rows; i++) v[i * k + 4] = -v[i * k + 4];
            }));
            Assert.That(rep.Violations, Is.Empty, "an eigenvector's sign is arbitrary and must not matter\n" + rep.Table());
        }

        [Test]
        public void TmsComparison_MetricPerturbed1e6_FailsMetricTolerance()
        {
            var rep = CheckTmsCopy("metric", d =>
            {
                string f = Path.Combine(d, "metrics.json");
                var m = JsonNode.Parse(File.ReadAllText(f))!;
                m["beta0"]!["mmcs"] = (double)m["beta0"]!["mmcs"]! + 1e-6;
                File.WriteAllText(f, m.ToJsonString());
            });
            AssertViolations(rep, "metric.beta0.mmcs (same vectors)", "metric.beta0.mmcs (own vectors)");
        }

        [Test]
        public void MlpComparison_KernelEntryPerturbed1e6Relative_FailsKernelTolerance()
        {
            PythonReference.Require();
            string d = CaseStore.CopyCase(CaseStore.Get(Mlp), "mlp-kernel");
            string f = Path.Combine(d, "kernel_traced_full.npy");
            double scale = Npy.Read(f).Float64().Max(Math.Abs);
            ParityArrays.Perturb(f, 10L * 49 + 30, v => v + 1e-6 * scale);
            var rep = ReferenceResults.CheckMlp(Mlp, d);
            AssertViolations(rep, "full.kernel.max_rel_err");
        }

        private static CheckReport CheckTmsCopy(string name, Action<string> perturb)
        {
            PythonReference.Require();
            string d = CaseStore.CopyCase(CaseStore.Get(Tms), "tms-" + name);
            perturb(d);
            var rep = ReferenceResults.CheckTms(Tms, d);
            TestContext.Out.WriteLine(rep.Table());
            return rep;
        }

        private static void AssertViolations(CheckReport rep, params string[] expected)
        {
            Assert.That(rep.Violations, Is.EquivalentTo(expected), "perturbation must trip exactly these checks\n" + rep.Table());
        }
    }
}
