using AstraPbx.Contracts;
using AstraPbx.MediaRelay.Sessions;
using MassTransit;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>Connects the <c>start-ai-session</c> receive endpoint once the bus has started, and stops it when the
/// relay drains, so a draining relay takes no more <c>StartAiSession</c> and the other relays get them.</summary>
public sealed class StartAiSessionEndpoint(IServiceProvider services, SessionRegistry registry) : IBusObserver
{
    private readonly object _lock = new();
    private HostReceiveEndpointHandle? _handle;
    private bool _stopped;

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

    public Task PostStart(IBus bus, Task<BusReady> busReady)
    {
        lock (_lock)
        {
            if (_stopped || registry.Draining || _handle is not null)
            {
                return Task.CompletedTask;
            }

            var connector = services.GetRequiredService<IReceiveEndpointConnector>();
            _handle = connector.ConnectReceiveEndpoint(StartAiSessionConsumerDefinition.QueueName,
                (context, endpoint) => endpoint.ConfigureConsumer<StartAiSessionConsumer>(context));
            var handle = _handle;
            _ = handle.Ready.ContinueWith(t => { if (t.IsCompletedSuccessfully) _ready.TrySetResult(); }, TaskScheduler.Default);
        }

        return Task.CompletedTask;
    }

    public void PostCreate(IBus bus)
    {
    }

    public void CreateFaulted(Exception exception)
    {
    }

    public Task PreStart(IBus bus) => Task.CompletedTask;

    public Task StartFaulted(IBus bus, Exception exception) => Task.CompletedTask;

    public Task PreStop(IBus bus) => Task.CompletedTask;

    public Task PostStop(IBus bus) => Task.CompletedTask;

    public Task StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;
}
