using System;
using System.Collections.Concurrent;
using System.Linq;
using Entk.Linalg;
using NUnit.Framework;

namespace Entk.Tests
{
    /// <summary>
    /// Base of the fixtures that run once per linear-algebra backend (as MathNet.Numerics' provider test projects do): every
    /// test runs inside <c>LinearAlgebraControl.Use(backend)</c>, and the tear-down checks that every dense routine the test
    /// ran used that backend (under Auto: the one the size rule picks, so only Torch or Managed are seen).
    /// </summary>
    [TestFixture(LinearAlgebraBackend.Torch)]
    [TestFixture(LinearAlgebraBackend.Managed)]
    [TestFixture(LinearAlgebraBackend.Auto)]
    public abstract class BackendFixture
    {
        private IDisposable? _scope;
        private IDisposable? _observer;
        private readonly ConcurrentQueue<string> _seen = new();

        protected BackendFixture(LinearAlgebraBackend backend) => Backend = backend;

        /// <summary>The backend of this fixture instance.</summary>
        protected LinearAlgebraBackend Backend { get; }

        [SetUp]
        public void UseBackend()
        {
            _seen.Clear();
            _scope = LinearAlgebraControl.Use(Backend);
            _observer = LinearAlgebraControl.Observe((b, op) => _seen.Enqueue(b + " " + op));
            Assert.That(LinearAlgebraControl.Backend, Is.EqualTo(Backend), "the scope set in SetUp reaches the test");
        }

        [TearDown]
        public void CheckBackend()
        {
            _observer?.Dispose();
            _scope?.Dispose();
            Assert.That(LinearAlgebraControl.Backend, Is.EqualTo(LinearAlgebraBackend.Auto), "scope restored");
            if (Backend != LinearAlgebraBackend.Auto)
                Assert.That(_seen.Where(s => !s.StartsWith(Backend + " ", StringComparison.Ordinal)), Is.Empty, "every dense routine ran on " + Backend);
            else
                Assert.That(_seen.Where(s => s.StartsWith("Auto", StringComparison.Ordinal)), Is.Empty, "Auto resolves to a concrete backend");
        }
    }
}
