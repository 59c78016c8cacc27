using System.Collections.Concurrent;
using AstraPbx.Contracts;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay;
using AstraPbx.MediaRelay.Consumers;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Media.Playout;
using AstraPbx.MediaRelay.Sessions;
using AstraPbx.ServiceDefaults;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Testing;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace AstraPbx.MediaRelay.Tests.Support;

/// <summary>A MediaRelay hosted in-process exactly as Program.cs builds it (service defaults + application services),
/// on its own RabbitMQ virtual host, with free ports, plus a test bus that sends StartAiSession and collects
/// AiSessionEnded. Optionally on a fake playout clock.</summary>
public sealed class RelayHost : IAsyncDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;
    private readonly TestBus _bus;
    private readonly EndedCollector _ended;

    private RelayHost(WebApplication app, TestBus bus, EndedCollector ended, FakeTimeProvider? time, TestPlayoutDriver? playout)
    {
        _app = app;
        _bus = bus;
        _ended = ended;
        Time = time;
        Playout = playout;
    }

    /// <summary>The fake playout clock's time, when the relay runs on one.</summary>
    public FakeTimeProvider? Time { get; }

    /// <summary>What drives the playout clock from <see cref="Time"/>, when the relay runs on a fake clock.</summary>
    public TestPlayoutDriver? Playout { get; }

    public IServiceProvider Services => _app.Services;

    public PlayoutClock Clock => Services.GetRequiredService<PlayoutClock>();

    public SessionRegistry Registry => Services.GetRequiredService<SessionRegistry>();

    public RelayEndpoints Endpoints => Services.GetRequiredService<RelayEndpoints>();

    /// <summary>The gRPC (health, admin) address.</summary>
    public string GrpcAddress => Endpoints.Http[0].ToString();

    /// <summary>Starts a relay in the test process on a virtual host of its own; returns once it takes StartAiSession,
    /// unless <paramref name="waitForEndpoint"/> is false (a test that holds the warm-up with a step of its own, added by
    /// <paramref name="services"/>).</summary>
    public static async Task<RelayHost> StartAsync(RabbitMqFixture rabbit, IDictionary<string, string?>? settings = null,
        bool fakeClock = false, ILoggerProvider? logs = null, Action<IServiceCollection>? services = null, bool waitForEndpoint = true)
    {
        var connectionString = await rabbit.CreateVirtualHostAsync("relay");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(RelayOptions).Assembly.GetName().Name,
            EnvironmentName = "Testing",
            ContentRootPath = AppContext.BaseDirectory,
        });
        var config = new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            [RabbitMqOptions.ConnectionStringKey] = connectionString,
            ["Relay:AudioSocketPort"] = "0",
            ["Relay:InstanceName"] = "relay-test",
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Logging:LogLevel:MassTransit"] = "Warning",
            // The relay runs inside the test process, whose CPU and tick lateness belong to the whole test run: load-aware
            // admission would refuse sessions for the tests' load. CapacityTests turn it on with limits of their own.
            ["Relay:Capacity:Enabled"] = "false",
            // The first warm-up pass only: the rounds would run beside the test (ServiceWarmupTests runs them).
            ["Warmup:SettleRounds"] = "0",
        };
        if (fakeClock)
        {
            // Under the fake clock a test sends audio and waits for it at the other end, ticking only when it means to:
            // reads that wait for a tick (the relay's default, covered by TickedReadTests and every real-clock test)
            // would wait for ticks the test never gives. These tests are about the playout, so their reads do not tick.
            config["Relay:TickedCallerReads"] = "false";
            config["Relay:TickedGatewayReads"] = "false";
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            config[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(config);
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        FakeTimeProvider? time = null;
        TestPlayoutDriver? playout = null;
        if (fakeClock)
        {
            time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T00:00:00Z"));
            playout = new TestPlayoutDriver(time);
            builder.Services.AddSingleton<IPlayoutDriver>(playout);
        }

        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapApplicationEndpoints();
        await app.StartAsync();
        if (waitForEndpoint)
        {
            await app.Services.GetRequiredService<StartAiSessionEndpoint>().Ready.Within(Long, "the start-ai-session endpoint");
        }

        var ended = new EndedCollector();
        var bus = await TestBus.StartAsync(connectionString, x =>
        {
            x.AddConsumer<EndedConsumer>();
            x.AddConsumer<CapacityConsumer>();
        }, s => s.AddSingleton(ended));
        return new RelayHost(app, bus, ended, time, playout);
    }

    /// <summary>Asks the relays (over the broker) to prepare a session, as Routing does.</summary>
    public async Task<(AiSessionReady? Ready, AiSessionFailed? Failed)> PrepareAsync(string gatewayUrl, MediaMode mode = MediaMode.AstraPbxBinary,
        Guid? sessionId = null, IReadOnlyDictionary<string, string>? custom = null, TimeSpan? timeout = null, int callerSampleRate = 8000)
    {
        var client = _bus.Bus.CreateRequestClient<StartAiSession>(new Uri("queue:" + StartAiSessionConsumerDefinition.QueueName),
            RequestTimeout.After(ms: (int)(timeout ?? TimeSpan.FromSeconds(60)).TotalMilliseconds));
        var request = new StartAiSession
        {
            CallId = "chan-" + Guid.NewGuid().ToString("N")[..8],
            AsteriskId = "ast-1",
            SessionId = sessionId ?? Guid.NewGuid(),
            GatewayUrl = gatewayUrl,
            MediaMode = mode,
            CallerSampleRate = callerSampleRate,
            OrgId = "org-1",
            CallerNumber = "+15550100",
            Extension = "600",
            ChannelName = "PJSIP/alice-00000001",
            CustomParameters = custom ?? new Dictionary<string, string> { ["lang"] = "en" },
        };
        var response = await client.GetResponse<AiSessionReady, AiSessionFailed>(request);
        if (response.Is(out Response<AiSessionReady>? ready))
        {
            return (ready!.Message, null);
        }

        return response.Is(out Response<AiSessionFailed>? failed) ? (null, failed!.Message) : throw new InvalidOperationException("unexpected response");
    }

    /// <summary>Dials the relay's AudioSocket endpoint as Asterisk would.</summary>
    public Task<AudioSocketCaller> DialAsync(Guid sessionId, IAudioSource? source = null, AstraPbx.Audio.AudioSocket.AudioSocketKind kind = AstraPbx.Audio.AudioSocket.AudioSocketKind.Slin) =>
        AudioSocketCaller.DialAsync(Endpoints.AudioSocket.Address.ToString(), Endpoints.AudioSocket.Port, sessionId, source, kind);

    /// <summary>The AiSessionEnded event for a session, as published on the broker.</summary>
    public Task<AiSessionEnded> Ended(Guid sessionId) => _ended.For(sessionId).Within(Long, $"AiSessionEnded for {sessionId}");

    internal RelaySession Session(Guid sessionId) =>
        Registry.TryGet(sessionId, out var session) ? session : throw new InvalidOperationException($"no session {sessionId}");

    /// <summary>Advances the fake clock by whole ticks, waiting for each to be delivered.</summary>
    public async Task TickAsync(int ticks = 1)
    {
        for (var i = 0; i < ticks; i++)
        {
            var next = Clock.Ticks + 1;
            Time!.Advance(PlayoutClock.Period);
            await Playout!.WhenTicked(next).Within(Long, $"playout tick {next}");
        }
    }

    /// <summary>Stops the relay as SIGTERM does (ApplicationStopping, then the hosted services), keeping the test bus.</summary>
    public async Task StopRelayAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _app.StopAsync(stop.Token);
    }

    private bool _stopped;

    public async ValueTask DisposeAsync()
    {
        await StopRelayAsync();
        await _bus.DisposeAsync();
        await _app.DisposeAsync();
    }

    public sealed class CapacityConsumer(EndedCollector collector) : IConsumer<RelayCapacity>
    {
        public Task Consume(ConsumeContext<RelayCapacity> context)
        {
            collector.Capacity.Enqueue(context.Message);
            return Task.CompletedTask;
        }
    }

    /// <summary>Every <see cref="RelayCapacity"/> the relay published, in order.</summary>
    public ConcurrentQueue<RelayCapacity> CapacityReports => _ended.Capacity;

    public sealed class EndedCollector
    {
        public ConcurrentQueue<RelayCapacity> Capacity { get; } = new();

        private readonly ConcurrentDictionary<Guid, TaskCompletionSource<AiSessionEnded>> _ended = new();

        public Task<AiSessionEnded> For(Guid sessionId) => Slot(sessionId).Task;

        public void Add(AiSessionEnded message) => Slot(message.SessionId).TrySetResult(message);

        private TaskCompletionSource<AiSessionEnded> Slot(Guid id) =>
            _ended.GetOrAdd(id, _ => new TaskCompletionSource<AiSessionEnded>(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    public sealed class EndedConsumer(EndedCollector collector) : IConsumer<AiSessionEnded>
    {
        public Task Consume(ConsumeContext<AiSessionEnded> context)
        {
            collector.Add(context.Message);
            return Task.CompletedTask;
        }
    }
}
