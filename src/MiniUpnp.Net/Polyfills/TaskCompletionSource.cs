namespace System.Threading.Tasks;

/// <summary>netstandard2.0 stand-in for .NET 5's non-generic TaskCompletionSource. Compiled for netstandard2.0 only.</summary>
internal sealed class TaskCompletionSource(TaskCreationOptions creationOptions)
{
    private readonly TaskCompletionSource<bool> _source = new(creationOptions);

    public TaskCompletionSource()
        : this(TaskCreationOptions.None)
    {
    }

    public Task Task => _source.Task;

    public void SetResult() => _source.SetResult(true);

    public bool TrySetResult() => _source.TrySetResult(true);

    public void SetException(Exception exception) => _source.SetException(exception);

    public bool TrySetException(Exception exception) => _source.TrySetException(exception);

    public void SetCanceled() => _source.SetCanceled();

    public bool TrySetCanceled() => _source.TrySetCanceled();

    public bool TrySetCanceled(CancellationToken cancellationToken) => _source.TrySetCanceled(cancellationToken);
}
