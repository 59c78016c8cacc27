using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using OpenTelemetry;

namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>Sends the contracts a service sends and consumes through the real broker, once, to a temporary queue of its
/// own: the bus's send, receive, (de)serialisation and request/response code for each type is compiled before the first
/// call needs it (measured: JIT on the first call's four bus hops cost more than half a second). The queue is
/// auto-deleted, bound to no exchange (nothing published to the real exchanges reaches it) and nothing is published:
/// messages are sent to the queue's address only, so no other service and no real queue sees them. Waits for the bus.</summary>
public sealed class BusWarmup(IBus bus, BusStarted started)
{
    /// <summary>Runs <paramref name="plan"/>'s messages and requests through a temporary endpoint, then removes it.</summary>
    public async Task RunAsync(BusWarmupPlan plan, CancellationToken cancellationToken)
    {
        await started.Started.WaitAsync(cancellationToken).ConfigureAwait(false);
        using var suppressed = SuppressInstrumentationScope.Begin();
        var handle = bus.ConnectReceiveEndpoint(new TemporaryEndpointDefinition("warmup"), KebabCaseEndpointNameFormatter.Instance, endpoint =>
        {
            // Bound to nothing: real publishes of these types must not reach this queue.
            endpoint.ConfigureConsumeTopology = false;
            foreach (var handler in plan.Handlers)
            {
                handler(endpoint);
            }
        });
        try
        {
            var ready = await handle.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var exercise in plan.Exercises)
            {
                await exercise(bus, ready.InputAddress, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await handle.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}

/// <summary>What <see cref="BusWarmup"/> sends: messages (sent, then received by a handler that does nothing) and
/// requests (answered with the given response).</summary>
public sealed class BusWarmupPlan
{
    internal List<Action<IReceiveEndpointConfigurator>> Handlers { get; } = [];

    internal List<Func<IBus, Uri, CancellationToken, Task>> Exercises { get; } = [];

    /// <summary>Sends <paramref name="message"/> to the temporary queue and waits until it was consumed there.</summary>
    public BusWarmupPlan Message<T>(T message)
        where T : class
    {
        var consumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Handlers.Add(e => e.Handler<T>(_ =>
        {
            consumed.TrySetResult();
            return Task.CompletedTask;
        }));
        Exercises.Add(async (bus, address, token) =>
        {
            var endpoint = await bus.GetSendEndpoint(address).ConfigureAwait(false);
            await endpoint.Send(message, token).ConfigureAwait(false);
            await consumed.Task.WaitAsync(token).ConfigureAwait(false);
        });
        return this;
    }

    /// <summary>Sends <paramref name="request"/> with a request client and waits for <paramref name="response"/>.</summary>
    public BusWarmupPlan Request<TRequest, TResponse>(TRequest request, TResponse response)
        where TRequest : class
        where TResponse : class
    {
        Handlers.Add(e => e.Handler<TRequest>(context => context.RespondAsync(response)));
        Exercises.Add(async (bus, address, token) =>
        {
            var client = bus.CreateRequestClient<TRequest>(address);
            await client.GetResponse<TResponse>(request, token).ConfigureAwait(false);
        });
        return this;
    }
}
