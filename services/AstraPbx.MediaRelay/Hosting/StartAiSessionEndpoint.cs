using AstraPbx.MediaRelay.Consumers;
using AstraPbx.MediaRelay.Sessions;
using AstraPbx.ServiceDefaults.Health;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.ServiceDefaults.Warmup;
using MassTransit;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>Connects the <c>start-ai-session</c> receive endpoint once the bus has started and the relay is warm (its
/// warm-up done: a relay still warming up, after a start or a scale-out under load, has its call path cold and no
/// measured headroom yet, so the requests go to relays that have), and stops it when the relay drains, so a draining
/// relay takes no more <c>StartAiSession</c> and the other relays get them. The capacity monitor pauses and resumes it
/// the same way while the relay has no room (<see cref="SetAcceptingAsync"/>).</summary>
public sealed class StartAiSessionEndpoint
{
    private readonly IServiceProvider _services;
    private readonly SessionRegistry _registry;
    private readonly object _lock = new();
    private readonly SemaphoreSlim _pausing = new(1, 1);
    private HostReceiveEndpointHandle? _handle;
    private bool _stopped;
    private bool _paused;
    private bool _wantPaused;

    private readonly PausedEndpoints _pausedEndpoints;

    public StartAiSessionEndpoint(IServiceProvider services, SessionRegistry registry, BusStarted busStarted, PausedEndpoints pausedEndpoints,
        WarmupState warmup)
    {
        _services = services;
        _registry = registry;
        _pausedEndpoints = pausedEndpoints;
        _ = Task.WhenAll(busStarted.Started, warmup.Done)
            .ContinueWith(_ => Connect(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>Completes when the endpoint is consuming (tests wait on it before sending requests).</summary>
    public Task Ready => _ready.Task;

    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Stops consuming; messages stay on the shared queue for the other relays.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        HostReceiveEndpointHandle? handle;
        lock (_lock)
        {
            _stopped = true;
            handle = _handle;
            _handle = null;
        }

        if (handle is not null)
        {
            await handle.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>True while the endpoint is paused for lack of room.</summary>
    public bool Paused => Volatile.Read(ref _paused);

    private long _resumedAtTicks;

    /// <summary>True for a request sent (by the sender's clock) before the endpoint last resumed after a pause: it
    /// waited on the queue while this relay said it had no room, and Routing gives such a request up when every relay
    /// says so. It is answered <c>OverCapacity</c> without preparing (no session or bot connection held for a call that
    /// went to the fallback); a sender still waiting for it retries, one that gave up ignores it.</summary>
    public bool SentWhilePaused(DateTime? sentTime) =>
        sentTime is { } sent && Volatile.Read(ref _resumedAtTicks) is var resumed and > 0 && sent.ToUniversalTime().Ticks < resumed;

    /// <summary>Marks <c>start-ai-session</c> as paused on purpose for the bus health check (a full relay is healthy).</summary>

    /// <summary>Pauses consuming while the relay has no room (the requests stay on the shared queue for relays that
    /// have), and resumes once it has. The last call wins; a drain's stop wins over both.</summary>
    public async Task SetAcceptingAsync(bool accepting, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _wantPaused, !accepting);
        await _pausing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            HostReceiveEndpointHandle? handle;
            lock (_lock)
            {
                handle = _stopped ? null : _handle;
            }

            var pause = Volatile.Read(ref _wantPaused);
            if (handle is null || pause == _paused)
            {
                return;
            }

            if (pause)
            {
                // Marked first: a health check while it stops must not take a full relay for a broken bus.
                _pausedEndpoints.Pause(StartAiSessionConsumerDefinition.QueueName, "no room for one more session");
                await handle.ReceiveEndpoint.Stop(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                Volatile.Write(ref _resumedAtTicks, DateTime.UtcNow.Ticks);
                await handle.ReceiveEndpoint.Start(cancellationToken).Ready.ConfigureAwait(false);
                _pausedEndpoints.Resume(StartAiSessionConsumerDefinition.QueueName);
            }

            Volatile.Write(ref _paused, pause);
        }
        finally
        {
            _pausing.Release();
        }
    }

    private void Connect()
    {
        lock (_lock)
        {
            if (_stopped || _registry.Draining || _handle is not null)
            {
                return;
            }

            // Resolved here, not injected: the connector is the bus itself, which is built after this observer.
            var connector = _services.GetRequiredService<IReceiveEndpointConnector>();
            _handle = connector.ConnectReceiveEndpoint(StartAiSessionConsumerDefinition.QueueName,
                (context, endpoint) => endpoint.ConfigureConsumer<StartAiSessionConsumer>(context));
            var handle = _handle;
            _ = handle.Ready.ContinueWith(t => { if (t.IsCompletedSuccessfully) _ready.TrySetResult(); }, TaskScheduler.Default);
        }

    }
}
