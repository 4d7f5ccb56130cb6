using System.Threading;
using System.Threading.Tasks;

namespace MiniUpnp.Net;

/// <summary>Marks a task whose failure nobody may be left to observe (a receive abandoned when a search ends).</summary>
internal static class TaskObservation
{
    /// <summary>Returns <paramref name="task"/>, with its exception observed if it faults: an abandoned socket receive
    /// ends with an <see cref="System.OperationCanceledException"/> as a fault, which would otherwise reach
    /// <see cref="TaskScheduler.UnobservedTaskException"/> of the host application.</summary>
    internal static Task<T> Observed<T>(this Task<T> task)
    {
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }
}
