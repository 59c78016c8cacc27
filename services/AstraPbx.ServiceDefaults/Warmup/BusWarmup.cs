using System.Collections.Concurrent;
using System.Diagnostics;
using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>Sends the contracts a service sends and consumes through the real broker, once, to a temporary queue of its
/// own: the bus's send, receive, (de)serialisation and request/response code for each type is compiled before the first
/// call needs it (measured: JIT on the first call's four bus hops cost more than half a second). Each message is
/// consumed the way the real endpoints consume theirs: by a consumer class made in a DI scope, behind a retry filter and
/// a concurrency limit (those generic pipes are shared by every message type, and were otherwise first compiled by the
/// first call). The queue is auto-deleted, bound to no contract's exchange (nothing published to the real exchanges
/// reaches it) and no contract is published: messages are sent to the queue's address only, so no other service and no
/// real queue sees them. The publish path (<see cref="IOutboundPublisher"/>, MassTransit's publish pipe, the exchange's
/// send transport) is run with a <see cref="WarmupPing"/>, the one type bound to the queue, on its own exchange that
/// only warm-ups bind to. Waits for the bus.</summary>
public sealed class BusWarmup(IBus bus, IReceiveEndpointConnector connector, BusStarted started, IOutboundPublisher outbound, IServiceScopeFactory scopes)
{
    /// <summary>How long a stopping run waits for its temporary endpoint to have started before it stops it.</summary>
    private static readonly TimeSpan ReadyBeforeStop = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<Type, Func<ConsumeContext, Task>> _consumers = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _lock = new();
    private readonly List<Task> _running = [];

    /// <summary>Runs not finished yet (each has removed its temporary endpoint once finished).</summary>
    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _running.Count;
            }
        }
    }

    /// <summary>Runs <paramref name="plan"/>'s messages and requests through a temporary endpoint, then removes it.</summary>
    public Task RunAsync(BusWarmupPlan plan, CancellationToken cancellationToken) => RunAsync(plan, 1, cancellationToken);

    /// <summary>Runs <paramref name="plan"/>'s messages, requests and the publish <paramref name="passes"/> times through
    /// one temporary endpoint (<see cref="IRepeatableWarmupStep"/>), then removes it.</summary>
    public Task RunAsync(BusWarmupPlan plan, int passes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(passes, 1);
        var run = RunLinkedAsync(plan, passes, cancellationToken);
        lock (_lock)
        {
            _running.Add(run);
        }

        // Attached after the add: the removal always comes after it, also for a run that has already ended.
        run.ContinueWith(t =>
        {
            lock (_lock)
            {
                _running.Remove(t);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return run;
    }

    /// <summary>Ends the runs in progress and waits until each has removed its temporary endpoint, or until
    /// <paramref name="cancellationToken"/> fires (then it returns, the runs still going). Called as the service stops, before the bus does
    /// (<see cref="BusWarmupStop"/>): a bus stopped while a warm-up endpoint was still declaring its topology waited for
    /// that declaration for ever (seen in the relay's tests: a relay stopped during its warm-up never stopped).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] running;
        lock (_lock)
        {
            running = [.. _running];
        }

        // Their outcome is their step's to report; here only their end counts.
        await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task RunLinkedAsync(BusWarmupPlan plan, int passes, CancellationToken cancellationToken)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        await RunOnEndpointAsync(plan, passes, stopping.Token).ConfigureAwait(false);
    }

    private async Task RunOnEndpointAsync(BusWarmupPlan plan, int passes, CancellationToken cancellationToken)
    {
        await started.Started.WaitAsync(cancellationToken).ConfigureAwait(false);
        // Sends, consumes and requests traced as a call's are (the consumer's span joins the pass's trace through the
        // message's headers), none exported.
        using var traced = WarmupTracing.Begin("bus");
        var ping = new WarmupPing { Id = Guid.NewGuid() };
        var pinged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumers = new List<Type>();
        var handle = connector.ConnectReceiveEndpoint(new TemporaryEndpointDefinition("warmup"), KebabCaseEndpointNameFormatter.Instance, (registration, endpoint) =>
        {
            // Bound to nothing but the ping's own exchange: real publishes of the contracts must not reach this queue.
            endpoint.ConfigureConsumeTopology = false;
            if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
            {
                rabbit.Bind<WarmupPing>();
            }

            Consume<WarmupPing>(registration, endpoint, consumers, context =>
            {
                // Another service's warm-up may publish its own ping at the same time; only this pass's counts.
                if (((ConsumeContext<WarmupPing>)context).Message.Id == Volatile.Read(ref ping).Id)
                {
                    Volatile.Read(ref pinged).TrySetResult();
                }

                return Task.CompletedTask;
            });
            foreach (var (_, configure) in plan.Consumers)
            {
                configure(this, registration, endpoint, consumers);
            }
        });
        try
        {
            var ready = await handle.Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var type in plan.Resolved)
            {
                // Twice: the container compiles its code for a service after its second resolution.
                for (var i = 0; i < 2; i++)
                {
                    using var scope = scopes.CreateScope();
                    _ = scope.ServiceProvider.GetRequiredService(type);
                }
            }

            for (var pass = 0; pass < passes; pass++)
            {
                foreach (var exercise in plan.Exercises)
                {
                    await exercise(bus, ready.InputAddress, cancellationToken).ConfigureAwait(false);
                }

                if (pass > 0)
                {
                    Volatile.Write(ref ping, new WarmupPing { Id = Guid.NewGuid() });
                    Volatile.Write(ref pinged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                }

                // As a call publishes: queued under a span of the pass's trace (so the bus's spans are not exported),
                // published by the outbound queue's lane with that span as the parent header.
                using (var parent = new Activity("astrapbx.warmup.publish").Start())
                {
                    if (!outbound.Enqueue(ping, "warmup"))
                    {
                        throw new InvalidOperationException("the outbound queue refused the warm-up ping");
                    }
                }

                await pinged.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // An endpoint stopped while it is still declaring its topology never finishes stopping (and neither does the
            // bus after it): let it start first.
            try
            {
                await handle.Ready.WaitAsync(ReadyBeforeStop).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // whatever it failed with, it is stopped below, and the run's own error is what it reports
            catch (Exception)
            {
                // Faulted or still starting after the wait: stopped all the same.
            }
#pragma warning restore CA1031

            await handle.StopAsync(CancellationToken.None).ConfigureAwait(false);
            foreach (var type in consumers)
            {
                _consumers.TryRemove(type, out _);
            }
        }
    }

    /// <summary>Called by <see cref="WarmupConsumer{T}"/> for each message the temporary queue delivers.</summary>
    internal Task ConsumedAsync(ConsumeContext context, Type messageType) =>
        _consumers.TryGetValue(messageType, out var consume) ? consume(context) : Task.CompletedTask;

    internal void Consume<T>(IRegistrationContext registration, IReceiveEndpointConfigurator endpoint, List<Type> consumers, Func<ConsumeContext, Task> consume)
        where T : class
    {
        _consumers[typeof(T)] = consume;
        consumers.Add(typeof(T));
        // As the services' consumer definitions configure theirs (a retry policy, a concurrency limit), made in a scope.
        endpoint.Consumer<WarmupConsumer<T>>(registration, c =>
        {
            c.UseMessageRetry(r => r.Intervals(100));
            c.ConcurrentMessageLimit = 64;
        });
    }
}

/// <summary>The message <see cref="BusWarmup"/> publishes to exercise the publish path; only warm-up queues bind to its
/// exchange.</summary>
public sealed record WarmupPing
{
    /// <summary>Tells one warm-up's ping from another service's.</summary>
    public Guid Id { get; init; }
}

/// <summary>Consumes a warm-up message on <see cref="BusWarmup"/>'s temporary queue and hands it back to the running
/// plan. Made by the bus in a DI scope, like the services' consumers.</summary>
internal sealed class WarmupConsumer<T>(BusWarmup warmup) : IConsumer<T>
    where T : class
{
    public async Task Consume(ConsumeContext<T> context)
    {
        // The services' consumers wait (on ARI, the database, a gateway): the pipe's code for resuming after an await
        // is compiled only when an await really waits.
        await Task.Yield();
        await warmup.ConsumedAsync(context, typeof(T)).ConfigureAwait(false);
    }
}

/// <summary>What <see cref="BusWarmup"/> sends: messages (sent, then consumed by a consumer that does nothing) and
/// requests (answered with the given response).</summary>
public sealed class BusWarmupPlan
{
    internal List<(Type Type, Action<BusWarmup, IRegistrationContext, IReceiveEndpointConfigurator, List<Type>> Configure)> Consumers { get; } = [];

    internal List<Func<IBus, Uri, CancellationToken, Task>> Exercises { get; } = [];

    internal List<Type> Resolved { get; } = [];

    /// <summary>Makes <typeparamref name="T"/> (one of the service's consumers) in a DI scope, as the bus does for a
    /// message, without calling it: the services it needs are built (singletons made on first use) and the container's
    /// code for them compiled before the first call's message asks for them (measured: Routing's first consume spent
    /// its first milliseconds building CallRouter's graph and the scoped request client).</summary>
    public BusWarmupPlan Resolve<T>()
        where T : class
    {
        Resolved.Add(typeof(T));
        return this;
    }

    /// <summary>Sends <paramref name="message"/> to the temporary queue and waits until it was consumed there.</summary>
    public BusWarmupPlan Message<T>(T message)
        where T : class
    {
        // One signal per pass (the plan may run several times through one queue, IRepeatableWarmupStep).
        TaskCompletionSource? consumed = null;
        Consumers.Add((typeof(T), (warmup, registration, e, types) => warmup.Consume<T>(registration, e, types, _ =>
        {
            Volatile.Read(ref consumed)?.TrySetResult();
            return Task.CompletedTask;
        })));
        Exercises.Add(async (bus, address, token) =>
        {
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref consumed, signal);
            var endpoint = await bus.GetSendEndpoint(address).ConfigureAwait(false);
            await endpoint.Send(message, token).ConfigureAwait(false);
            await signal.Task.WaitAsync(token).ConfigureAwait(false);
        });
        return this;
    }

    /// <summary>Runs <paramref name="exercise"/> with the bus and the temporary queue's address, after what was added
    /// before it: for a service's own class that sends or requests through the bus, pointed at that address (its
    /// messages need a consumer there: <see cref="Message{T}"/> or <see cref="Request{TRequest,TResponse}"/>).</summary>
    public BusWarmupPlan Exercise(Func<IBus, Uri, CancellationToken, Task> exercise)
    {
        Exercises.Add(exercise);
        return this;
    }

    /// <summary>Sends <paramref name="request"/> with a request client that accepts <typeparamref name="TResponse"/> or
    /// a second response type (as Routing's does) and waits for <paramref name="response"/>.</summary>
    public BusWarmupPlan Request<TRequest, TResponse>(TRequest request, TResponse response)
        where TRequest : class
        where TResponse : class
    {
        Consumers.Add((typeof(TRequest), (warmup, registration, e, types) => warmup.Consume<TRequest>(registration, e, types, context => context.RespondAsync(response))));
        Exercises.Add(async (bus, address, token) =>
        {
            var client = bus.CreateRequestClient<TRequest>(address);
            var answer = await client.GetResponse<TResponse, WarmupPing>(request, token).ConfigureAwait(false);
            if (!answer.Is(out Response<TResponse>? _))
            {
                throw new InvalidOperationException($"the warm-up request {typeof(TRequest).Name} was not answered with {typeof(TResponse).Name}");
            }
        });
        return this;
    }
}
