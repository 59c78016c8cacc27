using AstraPbx.Contracts;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.Testing;
using AstraPbx.Routing.Orchestration;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AstraPbx.Routing.Tests;

/// <summary>How the fake relay answers <see cref="StartAiSession"/>.</summary>
public enum RelayReply
{
    Ready,
    Failed,
    Never,
}

/// <summary>Routing wired as in the service (its consumers, its request client, its decision classes) on a real
/// broker (own virtual host) and a real database (own, seeded), plus a fake relay consuming <c>start-ai-session</c>,
/// a fake ingress consuming the Asterisk's ingress queue, and probes on <c>call-entered-stasis_error</c> and on every
/// consume and log line. Routing can run in the test bus itself, in further instances (<see cref="StartRoutingAsync"/>),
/// or as a process (<see cref="RoutingProcessEnvironment"/>); with <c>databaseProxy</c> Routing reaches PostgreSQL
/// through a <see cref="TcpProxy"/> the test can stop (the test's own queries go straight to the database).</summary>
public sealed class RoutingHarness : IAsyncDisposable
{
    public const string AsteriskId = "02:42:ac:11:00:02";
    public const string RelayEndpoint = "127.0.0.1:9092";

    private readonly List<TestBus> _instances = [];

    private RoutingHarness(RoutingDatabase database, string virtualHost, string routingConnectionString, TcpProxy? proxy, Recorder recorder, FakeRelayBehaviour relay)
    {
        Database = database;
        VirtualHost = virtualHost;
        RoutingConnectionString = routingConnectionString;
        DatabaseProxy = proxy;
        Recorder = recorder;
        Relay = relay;
    }

    public RoutingDatabase Database { get; }

    /// <summary>The test bus: fake relay, fake ingress, probes, and Routing unless started without it.</summary>
    public TestBus Bus { get; private set; } = null!;

    /// <summary>Every StartAiSession the relay got, command the ingress got, CallRouted published, message consumed,
    /// message parked in <c>call-entered-stasis_error</c>, and Routing log line.</summary>
    public Recorder Recorder { get; }

    public FakeRelayBehaviour Relay { get; }

    /// <summary>The broker connection string of the test's own virtual host.</summary>
    public string VirtualHost { get; }

    /// <summary>What Routing connects to: the database, or the proxy in front of it.</summary>
    public string RoutingConnectionString { get; }

    /// <summary>Between Routing and PostgreSQL when the harness was started with <c>databaseProxy</c>.</summary>
    public TcpProxy? DatabaseProxy { get; }

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task<RoutingHarness> StartAsync(PostgresFixture postgres, RabbitMqFixture rabbit, Action<RoutingOptions>? configure = null,
        bool routing = true, bool databaseProxy = false)
    {
        var database = await RoutingDatabase.CreateAsync(postgres);
        TcpProxy? proxy = null;
        var routingConnectionString = database.ConnectionString;
        if (databaseProxy)
        {
            var target = new NpgsqlConnectionStringBuilder(database.ConnectionString);
            proxy = new TcpProxy(target.Host!, target.Port);
            proxy.Start();
            target.Host = "127.0.0.1";
            target.Port = proxy.Port;
            routingConnectionString = target.ConnectionString;
        }

        var harness = new RoutingHarness(database, await rabbit.CreateVirtualHostAsync("routing"), routingConnectionString, proxy, new Recorder(), new FakeRelayBehaviour());
        harness.Bus = await TestBus.StartAsync(
            harness.VirtualHost,
            x =>
            {
                if (routing)
                {
                    x.AddRoutingConsumers();
                }

                x.AddConsumer<FakeRelayConsumer>().Endpoint(e => e.Name = Endpoints.StartAiSessionQueue);
                // One command at a time, in queue order: DrainIngressAsync relies on it.
                x.AddConsumer<FakeIngressConsumer>().Endpoint(e => (e.Name, e.ConcurrentMessageLimit) = (Endpoints.AriIngressQueue(AsteriskId), 1));
                // Bound to nothing: it reads only what MassTransit moves into the error queue.
                x.AddConsumer<ErrorQueueProbe>().Endpoint(e => (e.Name, e.ConfigureConsumeTopology) = ("call-entered-stasis_error", false));
                x.AddConsumer<CallRoutedProbe>();
            },
            services =>
            {
                harness.AddRouting(services, Options(configure));
                services.AddSingleton(harness.Relay);
            });
        return harness;
    }

    /// <summary>One more Routing instance on the same broker and database, competing for the same queues.</summary>
    public async Task<TestBus> StartRoutingAsync(Action<RoutingOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var instance = await TestBus.StartAsync(VirtualHost, x => x.AddRoutingConsumers(), s =>
        {
            AddRouting(s, Options(configure));
            services?.Invoke(s);
        });
        _instances.Add(instance);
        return instance;
    }

    /// <summary>The environment of a Routing process on the same broker and database, with the tests' fallback.</summary>
    public Dictionary<string, string?> RoutingProcessEnvironment(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__postgres"] = RoutingConnectionString,
            ["ConnectionStrings__rabbitmq"] = VirtualHost,
            ["Routing__FallbackContext"] = "org1-internal",
            ["Routing__FallbackExtension"] = "9000",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return environment;
    }

    /// <summary>The instance id of the Routing running in <paramref name="bus"/>.</summary>
    public static string InstanceId(TestBus bus) => bus.Services.GetRequiredService<RoutingInstance>().Id;

    private static RoutingOptions Options(Action<RoutingOptions>? configure)
    {
        var options = RoutingDatabase.WithFallback();
        options.StartSessionTimeout = TimeSpan.FromSeconds(2);
        configure?.Invoke(options);
        return options;
    }

    private void AddRouting(IServiceCollection services, RoutingOptions options)
    {
        services.Configure<PostgresOptions>(o => o.ConnectionString = RoutingConnectionString);
        services.AddSingleton<Microsoft.Extensions.Options.IOptionsMonitor<RoutingOptions>>(new FixedOptions<RoutingOptions>(options));
        services.AddRoutingServices();
        services.AddSingleton(Recorder);
        services.AddConsumeObserver(_ => new ConsumedProbe(Recorder));
        services.AddLogging(b => b.AddProvider(new RecordingLoggerProvider(Recorder)).AddFilter<RecordingLoggerProvider>("AstraPbx", LogLevel.Information));
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

    /// <summary>Every command the fake ingress got for the call.</summary>
    public IReadOnlyList<object> Commands(string callId) =>
        Recorder.All<object>(m => m is ConnectToRelay or ContinueInDialplan or HangupCall && CallIdOf(m) == callId);

    /// <summary>Waits until every command sent to the ingress queue so far has reached the fake ingress, which takes
    /// one message at a time in queue order: a marker sent now is consumed after them. Then <see cref="Commands"/> is
    /// complete for every decision already made.</summary>
    public async Task DrainIngressAsync()
    {
        var marker = "drain-" + Guid.NewGuid().ToString("N");
        var ingress = await Bus.Bus.GetSendEndpoint(Endpoints.AriIngressAddress(AsteriskId));
        await ingress.Send(new HangupCall { CallId = marker, AsteriskId = AsteriskId });
        await Next<HangupCall>(marker);
    }

    /// <summary>Waits for a Routing log line with <paramref name="eventId"/> about the call.</summary>
    public Task<LogLine> Log(int eventId, string callId) =>
        Recorder.WaitAsync<LogLine>(l => l.EventId == eventId && l.Message.Contains(callId, StringComparison.Ordinal)).Within(Timeout, $"log event {eventId} for {callId}");

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
        FallbackTaken m => m.Entry.CallId,
        _ => "",
    };

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await Bus.DisposeAsync();
        if (DatabaseProxy is not null)
        {
            await DatabaseProxy.DisposeAsync();
        }

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

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class
    {
        recorder.Add(new Faulted<T>(context.Message, exception.GetType().Name));
        return Task.CompletedTask;
    }
}

public sealed record Consumed<T>(T Message);

/// <summary>A consume that failed for good (after the endpoint's retries).</summary>
public sealed record Faulted<T>(T Message, string ExceptionType);

/// <summary>Reads <c>call-entered-stasis_error</c>: a routing that failed for good parks its message there.</summary>
public sealed class ErrorQueueProbe(Recorder recorder) : IConsumer<CallEnteredStasis>
{
    public Task Consume(ConsumeContext<CallEnteredStasis> context)
    {
        recorder.Add(new Parked(context.Message));
        return Task.CompletedTask;
    }
}

public sealed record Parked(CallEnteredStasis Message);
