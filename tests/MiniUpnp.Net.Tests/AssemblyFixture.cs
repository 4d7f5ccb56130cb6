using MiniUpnp.Net.Tests.Lab;
using MiniUpnp.Net.Tests.Support;
using NUnit.Framework;

[assembly: FailOnUndisposedHandles]

namespace MiniUpnp.Net.Tests;

/// <summary>Around the whole run: the last leak check (outside any test), and the lab's teardown if no one did it.</summary>
[SetUpFixture]
public sealed class AssemblyFixture
{
    [OneTimeTearDown]
    public void TearDown()
    {
        // A run that filtered out the lab namespace but ran the hostile tests left the lab up.
        LabEnvironment.Stop();
        // Handles finalized undisposed outside every test (a fixture's one-time set-up or tear-down).
        int outside = FailOnUndisposedHandlesAttribute.CollectAndCount() - FailOnUndisposedHandlesAttribute.Attributed;
        Assert.That(outside, Is.Zero, "MiniupnpcSafeHandle(s) finalized without being disposed outside any test (a one-time set-up or tear-down)");
    }
}
