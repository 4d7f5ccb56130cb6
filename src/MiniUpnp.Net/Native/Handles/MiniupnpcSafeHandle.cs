using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace MiniUpnp.Net.Native;

/// <summary>
/// Base of every handle that owns a miniupnpc or libnatpmp allocation (the name is miniupnpc's, which came first). A handle released by the finalizer instead of
/// <see cref="IDisposable.Dispose"/> is counted, so the tests can fail on a forgotten Dispose
/// (the habit of LibGit2Sharp's leak-identifying builds).
/// </summary>
public abstract class MiniupnpcSafeHandle : SafeHandle
{
    private static int s_finalizedUndisposed;

    /// <summary>Creates an invalid handle; the marshaller or a derived constructor sets it. Only this assembly derives
    /// from it: every handle type frees one particular native allocation.</summary>
    private protected MiniupnpcSafeHandle() : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Handles (of any type) that were still open when the garbage collector finalized them.</summary>
    internal static int FinalizedUndisposedCount => Volatile.Read(ref s_finalizedUndisposed);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (!disposing && !IsInvalid && !IsClosed)
        {
            Interlocked.Increment(ref s_finalizedUndisposed);
        }
        base.Dispose(disposing);
    }

    /// <summary>
    /// Runs <paramref name="action"/> with the raw pointer while holding a reference on the handle, so another
    /// thread's Dispose cannot free the memory in the middle (SafeHandle reference counting).
    /// </summary>
    internal unsafe TResult Use<TResult>(Func<IntPtr, TResult> action)
    {
        bool added = false;
        try
        {
            DangerousAddRef(ref added);
            return action(handle);
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }
}
