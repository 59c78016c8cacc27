namespace AstraPbx.AriIngress.Ari;

/// <summary>What the ingress knows about its Asterisk right now: the server id and whether the events socket is open.</summary>
public sealed class AriConnection
{
    private readonly TaskCompletionSource<string> _asteriskId = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _commandQueue = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _connected;

    /// <summary>Completes with the queue name once this Asterisk's command queue is being consumed.</summary>
    public Task<string> CommandQueueReady => _commandQueue.Task;

    internal void SetCommandQueueReady(string queue) => _commandQueue.TrySetResult(queue);

    /// <summary>The server's entity id once configured or learnt; null before.</summary>
    public string? AsteriskId => _asteriskId.Task.IsCompletedSuccessfully ? _asteriskId.Task.Result : null;

    /// <summary>Completes once the server id is known.</summary>
    public Task<string> AsteriskIdKnown => _asteriskId.Task;

    public bool IsConnected => _connected;

    internal void SetAsteriskId(string id) => _asteriskId.TrySetResult(id);

    internal void SetConnected() => _connected = true;

    internal void SetDisconnected() => _connected = false;
}
