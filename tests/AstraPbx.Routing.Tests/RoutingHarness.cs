using AstraPbx.Contracts;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace AstraPbx.Routing.Tests;

/// <summary>How the fake relay answers <see cref="StartAiSession"/>.</summary>
public enum RelayReply
{
    Ready,
    Failed,
    Never,
}

/// <summary>Routing wired as in the service (its consumers, its request client, its decision classes) on a real
/// broker (own virtual host) and a real database (own, seeded), plus a fake relay consuming <c>start-ai-session</c>
/// and a fake ingress consuming the Asterisk's ingress queue.</summary>
public sealed class RoutingHarness : IAsyncDisposable
{
    public const string AsteriskId = "02:42:ac:11:00:02";
    public const string RelayEndpoint = "127.0.0.1:9092";

    private RoutingHarness(RoutingDatabase database, TestBus bus, Recorder recorder, FakeRelayBehaviour relay)
    {
        Database = database;
        Bus = bus;
        Recorder = recorder;
        Relay = relay;
    }

    public RoutingDatabase Database { get; }

    public TestBus Bus { get; }

    /// <summary>Every StartAiSession the relay got, command the ingress got, CallRouted published, message consumed.</summary>
    public Recorder Recorder { get; }

    public FakeRelayBehaviour Relay { get; }

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task<RoutingHarness> StartAsync(PostgresFixture postgres, RabbitMqFixture rabbit, Action<RoutingOptions>? configure = null)
    {
        var database = await RoutingDatabase.CreateAsync(postgres);
        var recorder = new Recorder();
        var relay = new FakeRelayBehaviour();
        var options = RoutingDatabase.WithFallback();
        options.StartSessionTimeout = TimeSpan.FromSeconds(2);
        configure?.Invoke(options);
        var bus = await TestBus.StartAsync(
            await rabbit.CreateVirtualHostAsync("routing"),
            x =>
            {
                x.AddRoutingConsumers();
                x.AddConsumer<FakeRelayConsumer>().Endpoint(e => e.Name = "start-ai-session");
                x.AddConsumer<FakeIngressConsumer>().Endpoint(e => e.Name = Endpoints.AriIngressQueue(AsteriskId));
                x.AddConsumer<CallRoutedProbe>();
            },
            services =>
            {
                services.Configure<PostgresOptions>(o => o.ConnectionString = database.ConnectionString);
                services.AddSingleton<Microsoft.Extensions.Options.IOptionsMonitor<RoutingOptions>>(new FixedOptions<RoutingOptions>(options));
                services.AddRoutingServices();
                services.AddSingleton(recorder);
                services.AddSingleton(relay);
                services.AddConsumeObserver(_ => new ConsumedProbe(recorder));
            });
        return new RoutingHarness(database, bus, recorder, relay);
    }

    public static CallEnteredStasis Call(string callId, params string[] args) => new()
    {
        CallId = callId,
        AsteriskId = AsteriskId,
        ChannelName = "PJSIP/1001-00000001",
        StasisArgs = args,
        CallerNumber = "1001",
        Extension = "5001",
        Context = "org1-internal",
        OrgId = "1",
        EnteredAt = DateTimeOffset.UtcNow,
        AnsweredAt = DateTimeOffset.UtcNow,
    };

    public Task<T> Next<T>(string callId) where T : class => Recorder.WaitAsync<T>(m => CallIdOf(m) == callId).Within(Timeout, typeof(T).Name + " for " + callId);

    public static string CallIdOf(object message) => message switch
    {
        StartAiSession m => m.CallId,
        ConnectToRelay m => m.CallId,
        ContinueInDialplan m => m.CallId,
        HangupCall m => m.CallId,
        CallRouted m => m.CallId,
        CallEnteredStasis m => m.CallId,
        CallEnded m => m.CallId,
        AiSessionEnded m => m.CallId,
        _ => "",
    };

    public async ValueTask DisposeAsync()
    {
        await Bus.DisposeAsync();
        await Database.DisposeAsync();
    }
}

/// <summary>What the fake relay does with each request; by default it prepares the session.</summary>
public sealed class FakeRelayBehaviour
{
    public Func<StartAiSession, int, RelayReply> Reply { get; set; } = (_, _) => RelayReply.Ready;

    /// <summary>Runs before the relay replies (e.g. to publish events out of order).</summary>
    public Func<ConsumeContext<StartAiSession>, Task>? BeforeReply { get; set; }

    private int _count;

    public int Next() => Interlocked.Increment(ref _count);
}

public sealed class FakeRelayConsumer(FakeRelayBehaviour behaviour, Recorder recorder) : IConsumer<StartAiSession>
{
    public async Task Consume(ConsumeContext<StartAiSession> context)
    {
        recorder.Add(context.Message);
        var reply = behaviour.Reply(context.Message, behaviour.Next());
        if (behaviour.BeforeReply is { } before)
        {
            await before(context);
        }

        var m = context.Message;
        switch (reply)
        {
            case RelayReply.Ready:
                await context.RespondAsync(new AiSessionReady
                {
                    CallId = m.CallId, AsteriskId = m.AsteriskId, SessionId = m.SessionId, RelayEndpoint = RoutingHarness.RelayEndpoint,
                    RelayInstance = "fake-relay", GatewayConnectMs = 12.5,
                });
                break;
            case RelayReply.Failed:
                await context.RespondAsync(new AiSessionFailed
                {
                    CallId = m.CallId, AsteriskId = m.AsteriskId, SessionId = m.SessionId, Reason = AiSessionFailure.Refused, RelayInstance = "fake-relay",
                });
                break;
        }
    }
}

public sealed class FakeIngressConsumer(Recorder recorder) : IConsumer<ConnectToRelay>, IConsumer<ContinueInDialplan>, IConsumer<HangupCall>
{
    public Task Consume(ConsumeContext<ConnectToRelay> context) => Record(context.Message);

    public Task Consume(ConsumeContext<ContinueInDialplan> context) => Record(context.Message);

    public Task Consume(ConsumeContext<HangupCall> context) => Record(context.Message);

    private Task Record(object message)
    {
        recorder.Add(message);
        return Task.CompletedTask;
    }
}

public sealed class CallRoutedProbe(Recorder recorder) : IConsumer<CallRouted>
{
    public Task Consume(ConsumeContext<CallRouted> context)
    {
        recorder.Add(context.Message);
        return Task.CompletedTask;
    }
}

/// <summary>Records, after each consumer finished, the message it consumed, wrapped in <see cref="Consumed{T}"/>.</summary>
public sealed class ConsumedProbe(Recorder recorder) : IConsumeObserver
{
    public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context) where T : class
    {
        recorder.Add(new Consumed<T>(context.Message));
        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}

public sealed record Consumed<T>(T Message);

/// <summary>Collects messages and lets a test await the first one that matches, without polling.</summary>
public sealed class Recorder
{
    private readonly List<object> _items = [];
    private readonly List<(Func<object, bool> Match, TaskCompletionSource<object> Done)> _waiters = [];

    public void Add(object item)
    {
        lock (_items)
        {
            _items.Add(item);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(item))
                {
                    _waiters[i].Done.TrySetResult(item);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    public async Task<T> WaitAsync<T>(Func<T, bool>? match = null) where T : class
    {
        bool Matches(object o) => o is T t && (match is null || match(t));
        TaskCompletionSource<object> done;
        lock (_items)
        {
            foreach (var item in _items)
            {
                if (Matches(item))
                {
                    return (T)item;
                }
            }

            done = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((Matches, done));
        }

        return (T)await done.Task;
    }

    /// <summary>Waits until <paramref name="count"/> matching items were recorded.</summary>
    public async Task WaitCountAsync<T>(Func<T, bool> match, int count) where T : class
    {
        TaskCompletionSource<object> done;
        lock (_items)
        {
            if (_items.OfType<T>().Count(match) >= count)
            {
                return;
            }

            done = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((o => o is T t && match(t) && _items.OfType<T>().Count(match) >= count, done));
        }

        await done.Task;
    }

    public IReadOnlyList<T> All<T>(Func<T, bool>? match = null)
    {
        lock (_items)
        {
            return _items.OfType<T>().Where(t => match is null || match(t)).ToList();
        }
    }
}
