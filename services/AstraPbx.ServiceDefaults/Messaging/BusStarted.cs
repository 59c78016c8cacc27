using MassTransit;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>Completes once the bus has started, for receive endpoints a service connects itself after start (they
/// need a running bus). Registered by <see cref="MessageBusExtensions.AddMessageBus"/>; only the start matters, the
/// other observer calls are no-ops.</summary>
public sealed class BusStarted : IBusObserver
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Started => _started.Task;

    public Task PostStart(IBus bus, Task<BusReady> busReady)
    {
        _started.TrySetResult();
        return Task.CompletedTask;
    }

    void IBusObserver.PostCreate(IBus bus)
    {
    }

    void IBusObserver.CreateFaulted(Exception exception)
    {
    }

    Task IBusObserver.PreStart(IBus bus) => Task.CompletedTask;

    Task IBusObserver.StartFaulted(IBus bus, Exception exception) => Task.CompletedTask;

    Task IBusObserver.PreStop(IBus bus) => Task.CompletedTask;

    Task IBusObserver.PostStop(IBus bus) => Task.CompletedTask;

    Task IBusObserver.StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;
}
