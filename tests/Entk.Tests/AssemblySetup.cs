using NUnit.Framework;

namespace Entk.Tests
{
    /// <summary>Runs once before every fixture: the explicit runtime set-up a program using Entk makes (as the CLI does).</summary>
    [SetUpFixture]
    public sealed class AssemblySetup
    {
        [OneTimeSetUp]
        public void Configure() => EntkRuntime.Configure();
    }
}
