using NUnit.Framework;

namespace Entk.Parity.Tests
{
    /// <summary>
    /// Kernels, spectra, eigenvector subspaces and metrics of every case: the C# CLI's files against the Python
    /// reference (entk_ref.bridge) computed from the C#-trained weights. Tolerances: <see cref="Tolerances"/>.
    /// </summary>
    [TestFixture]
    public sealed class SpectrumParityTests
    {
        [TestCaseSource(typeof(ParityCases), nameof(ParityCases.TmsCases))]
        public void TmsCase_CSharpOutputs_MatchReferenceWithinTolerance(TmsCase c)
        {
            PythonReference.Require();
            var o = CaseStore.Get(c);
            ReferenceResults.CheckTms(c, o.Directory).AssertAllPass();
        }

        [TestCaseSource(typeof(ParityCases), nameof(ParityCases.MlpCases))]
        public void MlpCase_CSharpOutputs_MatchReferenceWithinTolerance(MlpCase c)
        {
            PythonReference.Require();
            var o = CaseStore.Get(c);
            ReferenceResults.CheckMlp(c, o.Directory).AssertAllPass();
        }
    }
}
