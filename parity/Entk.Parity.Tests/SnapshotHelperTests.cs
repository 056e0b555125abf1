using System;
using System.IO;
using NUnit.Framework;

namespace Entk.Parity.Tests
{
    /// <summary>The tolerance-aware snapshot helper and its policy (no Python needed).</summary>
    [TestFixture]
    public sealed class SnapshotHelperTests
    {
        private string dir = "";

        [SetUp]
        public void CreateDirectory() => dir = CaseStore.NewScratch("snapshot-helper");

        private static JsonSnapshot Sample(double mmcs = 0.4918451883246764, double lambda0 = 95.7105510077976, long count = 4) =>
            new JsonSnapshot("Sample", "tms --seed 0")
                .Provenance("note", "test")
                .Add("reconstructed_count", count)
                .Add("beta0.mmcs", mmcs)
                .Add("beta0.eigenvalues", new[] { lambda0, 77.75705058471837, 2.0248904054918305e-08, 1.0 });

        private static (SnapshotOutcome Outcome, string Message) Check(JsonSnapshot s, string d, bool update = false, bool ci = false) =>
            SnapshotStore.Check(s, d, update, ci, SnapshotTolerance.For);

        [Test]
        public void Render_TenSignificantDigits_RoundTripsWithinTolerance()
        {
            string text = Sample().Render();
            Assert.That(text, Does.Contain("0.4918451883,").And.Contain("2.024890405E-08").And.Contain("1.0").And.Contain("\"reconstructed_count\": 4,"));
            Assert.That(Sample().Compare(text, SnapshotTolerance.For), Is.Empty);
        }

        [Test]
        public void Check_MissingSnapshotWithoutUpdate_FailsAndWritesNothing()
        {
            var (outcome, message) = Check(Sample(), dir);
            Assert.That(outcome, Is.EqualTo(SnapshotOutcome.Missing));
            Assert.That(message, Does.Contain("ENTK_UPDATE_SNAPSHOTS=1"));
            Assert.That(Directory.GetFiles(dir), Is.Empty);
        }

        [Test]
        public void Check_UpdateInCi_Refused()
        {
            Assert.That(Check(Sample(), dir, update: true, ci: true).Outcome, Is.EqualTo(SnapshotOutcome.UpdateRefusedInCi));
            Assert.That(Directory.GetFiles(dir), Is.Empty);
        }

        [Test]
        public void Check_UpdateLocally_CreatesThenMatches()
        {
            Assert.That(Check(Sample(), dir, update: true).Outcome, Is.EqualTo(SnapshotOutcome.Created));
            Assert.That(Check(Sample(), dir).Outcome, Is.EqualTo(SnapshotOutcome.Matched));
            // A matching snapshot is not rewritten in update mode.
            var before = File.GetLastWriteTimeUtc(Path.Combine(dir, "Sample.json"));
            Assert.That(Check(Sample(mmcs: 0.4918451883246764 + 1e-13), dir, update: true).Outcome, Is.EqualTo(SnapshotOutcome.Matched));
            Assert.That(File.GetLastWriteTimeUtc(Path.Combine(dir, "Sample.json")), Is.EqualTo(before));
        }

        [Test]
        public void Check_ValueWithinTolerance_Matches()
        {
            Check(Sample(), dir, update: true);
            Assert.That(Check(Sample(mmcs: 0.4918451883246764 * (1 + 5e-9), lambda0: 95.7105510077976 * (1 - 5e-9)), dir).Outcome, Is.EqualTo(SnapshotOutcome.Matched));
        }

        [Test]
        public void Check_ValueBeyondTolerance_FailsNamingEveryDifference()
        {
            Check(Sample(), dir, update: true);
            var (outcome, message) = Check(Sample(mmcs: 0.4918451883246764 + 1e-6, lambda0: 95.7105510077976 * (1 + 1e-6), count: 5), dir);
            Assert.That(outcome, Is.EqualTo(SnapshotOutcome.Mismatch));
            Assert.That(message, Does.Contain("3 place(s)").And.Contain("beta0.mmcs: expected 0.4918451883")
                .And.Contain("beta0.eigenvalues: 1 of 4 values moved: [0]").And.Contain("reconstructed_count: expected 4, got 5"));
        }

        [Test]
        public void Check_RidgeLevelEigenvalue_ComparedRelativeToLargest()
        {
            Check(Sample(), dir, update: true);
            // Index 2 (2.0e-8, ridge level) moves by 25 % of itself but only 5e-11·λ0: within max(1e-8 relative, 1e-10·λ0).
            var s = new JsonSnapshot("Sample", "tms --seed 0").Provenance("note", "test").Add("reconstructed_count", 4L).Add("beta0.mmcs", 0.4918451883246764)
                .Add("beta0.eigenvalues", new[] { 95.7105510077976, 77.75705058471837, 2.0248904054918305e-08 + 5e-9, 1.0 });
            Assert.That(Check(s, dir).Outcome, Is.EqualTo(SnapshotOutcome.Matched));
        }

        [Test]
        public void Check_MissingAndExtraKeysAndSettings_Fail()
        {
            Check(Sample(), dir, update: true);
            var s = new JsonSnapshot("Sample", "tms --seed 1").Add("reconstructed_count", 4L).Add("beta0.new", 1.5)
                .Add("beta0.eigenvalues", new[] { 95.7105510077976, 77.75705058471837, 2.0248904054918305e-08, 1.0 });
            var (outcome, message) = Check(s, dir);
            Assert.That(outcome, Is.EqualTo(SnapshotOutcome.Mismatch));
            Assert.That(message, Does.Contain("settings:").And.Contain("beta0.mmcs: in the snapshot but no longer produced").And.Contain("beta0.new: new value not in the snapshot"));
        }

        [Test]
        public void Check_UpdateLocallyAfterChange_RewritesWithDifferences()
        {
            Check(Sample(), dir, update: true);
            var (outcome, message) = Check(Sample(count: 6), dir, update: true);
            Assert.That(outcome, Is.EqualTo(SnapshotOutcome.Updated));
            Assert.That(message, Does.Contain("reconstructed_count"));
            Assert.That(File.ReadAllText(Path.Combine(dir, "Sample.json")), Does.Contain("\"reconstructed_count\": 6,"));
        }
    }
}
