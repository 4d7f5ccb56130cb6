using System;
using System.Threading;
using MiniUpnp.Net.Native;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace MiniUpnp.Net.Tests.Support;

/// <summary>
/// Fails a test that let a <see cref="MiniupnpcSafeHandle"/> be finalized instead of disposed (LibGit2Sharp's
/// BaseFixture with LEAKS_IDENTIFYING). After each test a full collection runs and the finalizers are waited for,
/// so the handles the test dropped are finalized now and counted against it, not against a later test. A handle
/// still reachable (a static, a task still running) is finalized later and named by the test running then: the
/// message says so. Tests do not run in parallel in this assembly, so the count between two checks is one test's.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class FailOnUndisposedHandlesAttribute : Attribute, ITestAction
{
    private static int s_baseline;
    private static int s_attributed;

    public ActionTargets Targets => ActionTargets.Test;

    /// <summary>Handles finalized undisposed that some test was failed for.</summary>
    internal static int Attributed => Volatile.Read(ref s_attributed);

    public void BeforeTest(ITest test) => Volatile.Write(ref s_baseline, MiniupnpcSafeHandle.FinalizedUndisposedCount);

    public void AfterTest(ITest test)
    {
        int grown = CollectAndCount() - Volatile.Read(ref s_baseline);
        if (grown > 0)
        {
            Interlocked.Add(ref s_attributed, grown);
            Assert.Fail($"{grown} MiniupnpcSafeHandle(s) finalized without being disposed during {test.FullName} "
                        + "(dropped by this test, or by an earlier test's work still running)");
        }
    }

    /// <summary>Finalizes whatever is unreachable now, then reads the count.</summary>
    internal static int CollectAndCount()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return MiniupnpcSafeHandle.FinalizedUndisposedCount;
    }
}
