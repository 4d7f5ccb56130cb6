using MiniUpnp.Net.Tests.Lab;
using NUnit.Framework;

namespace MiniUpnp.Net.Tests.Hostile;

/// <summary>
/// The hostile tests run in the lab's lan namespace and name its addresses (a closed port on the igd, the real
/// miniupnpd): the lab is started for them as for <c>MiniUpnp.Net.Tests.Lab</c>. It stays up for the lab tests
/// that follow; <see cref="LabFixture"/>, or at the latest <see cref="AssemblyFixture"/>, takes it down.
/// </summary>
[SetUpFixture]
public sealed class HostileLabFixture
{
    [OneTimeSetUp]
    public void StartLab() => LabEnvironment.Start();
}
