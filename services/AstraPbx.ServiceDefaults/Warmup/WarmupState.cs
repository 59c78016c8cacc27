namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>Whether the warm-up is over (finished, failed or cut by the timeout): what <see cref="WarmupHealthCheck"/>
/// reports.</summary>
public sealed class WarmupState
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the warm-up is over, whatever its outcome.</summary>
    public Task Done => _done.Task;

    public bool IsDone => _done.Task.IsCompleted;

    internal void MarkDone() => _done.TrySetResult();
}
