using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using AstraPbx.Contracts;
using AstraPbx.Contracts.Media;
using AstraPbx.LocalRun;
using AstraPbx.LocalRun.Infrastructure;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.Simulators.Gateway;
using MassTransit;

namespace AstraPbx.LoadTool;

/// <summary>AstraPbx's MediaRelay, started by the tool (<c>--start-relay</c>) or already running: each session is
/// prepared over the broker exactly as Routing does (a <c>StartAiSession</c> request), and the relay's own account of
/// each session comes back as <c>AiSessionEnded</c>.</summary>
internal sealed class BrokerRelay : IMeasuredRelay
{
    private readonly LoadOptions _options;
    private readonly FakeGateway _gateway;
    private readonly RabbitMqBroker _broker;
    private readonly RelayProcess? _process;
    private readonly IBusControl _bus;
    private readonly IRequestClient<StartAiSession> _client;
    private readonly ConcurrentDictionary<Guid, AiSessionEnded> _ended = new();
    private readonly ConcurrentQueue<double> _refusedAfterMs = new();
    private readonly object _capacityGate = new();
    private bool _full;
    private long _fullUntil;
    private DateTimeOffset _latestReport;
    private TaskCompletionSource _noRoomReported = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private BrokerRelay(LoadOptions options, FakeGateway gateway, RabbitMqBroker broker, RelayProcess? process, string connectionString)
    {
        (_options, _gateway, _broker, _process) = (options, gateway, broker, process);
        _bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            var amqp = RabbitMqAddress.Parse(connectionString);
            cfg.Host(amqp.Host, (ushort)amqp.Port, amqp.VirtualHost, h =>
            {
                h.Username(amqp.Username);
                h.Password(amqp.Password);
            });
            // The relay's own account of each session (late ticks, underruns), published when it ends.
            cfg.ReceiveEndpoint("loadtool-" + Guid.NewGuid().ToString("N"), e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<AiSessionEnded>(context =>
                {
                    _ended[context.Message.SessionId] = context.Message;
                    return Task.CompletedTask;
                });
                e.Handler<RelayCapacity>(context =>
                {
                    OnCapacity(context.Message);
                    return Task.CompletedTask;
                });
            });
        });
        _client = _bus.CreateRequestClient<StartAiSession>(new Uri("queue:" + Endpoints.StartAiSessionQueue), RequestTimeout.After(s: 60));
    }

    public string Name => "AstraPbx MediaRelay" + (_process is null ? "" : " (started by the tool)");

    public string Key => "astrapbx";

    public int? Pid => _process?.Pid ?? _options.RelayPid;

    public double IntendedDelayMs => _options.JitterTargetMs + 20.0;

    /// <summary>Connects to the broker, starts the relay when asked (in a private virtual host, so the run never meets
    /// another relay's queue) and the tool's bus.</summary>
    public static async Task<BrokerRelay> StartAsync(LoadOptions options, FakeGateway gateway)
    {
        var broker = RabbitMqBroker.FromEnvironment(options.RabbitMq)
            ?? throw new InvalidOperationException("No broker: pass --rabbitmq, set ASTRAPBX_RABBITMQ, or run scripts/infra up (.infra/env).");
        var connectionString = broker.ConnectionString;
        RelayProcess? process = null;
        if (options.StartRelay)
        {
            if (broker.CanCreateVirtualHosts)
            {
                connectionString = await broker.CreateVirtualHostAsync("loadtool").ConfigureAwait(false);
            }

            var dll = options.RelayDll ?? DefaultRelayDll();
            process = RelayProcess.Start(dll, connectionString, Math.Max(1000, options.Calls + 100), options.JitterTargetMs, options.RelaySettings);
            Console.WriteLine($"relay started: pid {process.Pid}, AudioSocket 127.0.0.1:{process.AudioSocketPort}, log {process.LogPath}");
        }

        var relay = new BrokerRelay(options, gateway, broker, process, connectionString);
        try
        {
            await relay._bus.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            // The relay process must not outlive a run that never began.
            await relay.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return relay;
    }

    /// <summary>Requests refused as Routing refuses them (see <see cref="OpenSessionAsync"/>): how long after the tool
    /// decided to place the call, in ms.</summary>
    public IReadOnlyCollection<double> RefusedAfterMs => _refusedAfterMs;

    /// <summary>The relay's capacity report, as Routing keeps it (<c>RelayCapacityView</c>): held for its ValidFor, an
    /// older one handled late ignored; every report of no room wakes the requests still waiting, not only the first
    /// (a full relay repeats it every interval). Waking only on the change left a request sent just after the relay
    /// paused (its last report of room handled after its report of none) on the queue for 9-10 s, until the relay
    /// resumed and refused it, where Routing gives it up at the next report. Except a relay still warming up: Routing
    /// would send those calls to the fallback, the tool lets its first request wait on the queue until the relay is warm
    /// (the relay is measured warm, as the first call after SERVING is).</summary>
    private void OnCapacity(RelayCapacity report)
    {
        if (!report.Accepting && report.Limiter == "warming-up")
        {
            return;
        }

        TaskCompletionSource? wake = null;
        lock (_capacityGate)
        {
            if (report.MeasuredAt < _latestReport)
            {
                return;
            }

            _latestReport = report.MeasuredAt;
            _fullUntil = Stopwatch.GetTimestamp() + (long)(report.ValidFor.TotalSeconds * Stopwatch.Frequency);
            if (!report.Accepting)
            {
                wake = _noRoomReported;
                _noRoomReported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            _full = !report.Accepting;
        }

        wake?.TrySetResult();
    }

    private bool NoRoom(out Task noRoomReported)
    {
        lock (_capacityGate)
        {
            noRoomReported = _noRoomReported.Task;
            return _full && Stopwatch.GetTimestamp() < _fullUntil;
        }
    }

    /// <summary>Prepares a session as Routing does: no request while the relay's latest capacity report says it has no
    /// room (the call would go to the fallback at once), and a request still waiting when the relay reports no room is
    /// given up at that moment (the relay stopped taking requests; Routing sends the call to the fallback). Both count as
    /// refused, with the time from placing the call to the refusal.</summary>
    public async Task<SessionEndpoint?> OpenSessionAsync(Action<string> fail)
    {
        var placed = Stopwatch.GetTimestamp();
        if (NoRoom(out var noRoomReported))
        {
            _refusedAfterMs.Enqueue(Stopwatch.GetElapsedTime(placed).TotalMilliseconds);
            fail("refused:no-relay-capacity");
            return null;
        }

        var callId = "load-" + Guid.NewGuid().ToString("N")[..12];
        var request = new StartAiSession
        {
            CallId = callId,
            AsteriskId = "loadtool",
            SessionId = Guid.NewGuid(),
            GatewayUrl = _gateway.UrlFor($"/ws/org-load/bot-echo?key={FakeGateway.Secret}").ToString(),
            MediaMode = MediaMode.AstraPbxBinary,
            OrgId = "org-load",
            CallerNumber = "+15550100",
            Extension = "600",
            ChannelName = "PJSIP/load-" + callId,
        };
        try
        {
            using var giveUp = new CancellationTokenSource();
            var responding = _client.GetResponse<AiSessionReady, AiSessionFailed>(request, giveUp.Token);
            if (await Task.WhenAny(responding, noRoomReported).ConfigureAwait(false) != responding)
            {
                await giveUp.CancelAsync().ConfigureAwait(false);
                _refusedAfterMs.Enqueue(Stopwatch.GetElapsedTime(placed).TotalMilliseconds);
                fail("refused:relay-became-full");
                return null;
            }

            var response = await responding.ConfigureAwait(false);
            if (!response.Is(out Response<AiSessionReady>? readyResponse))
            {
                var reason = response.Is(out Response<AiSessionFailed>? failed) ? failed!.Message.Reason : (AiSessionFailure?)null;
                if (reason == AiSessionFailure.OverCapacity)
                {
                    _refusedAfterMs.Enqueue(Stopwatch.GetElapsedTime(placed).TotalMilliseconds);
                }

                fail("prepare:" + (reason?.ToString() ?? "unknown"));
                return null;
            }

            var ready = readyResponse!.Message;
            var colon = ready.RelayEndpoint.LastIndexOf(':');
            return new SessionEndpoint(ready.RelayEndpoint[..colon], int.Parse(ready.RelayEndpoint[(colon + 1)..], CultureInfo.InvariantCulture), ready.SessionId);
        }
        catch (Exception e) when (e is RequestTimeoutException or RequestFaultException or OperationCanceledException)
        {
            fail(e.GetType().Name);
            return null;
        }
    }

    /// <summary>Waits (up to 15 s) for the relay's AiSessionEnded of every call and sums its own timing counters.</summary>
    public async Task<RelaySide> ReportRelaySideAsync(IReadOnlySet<Guid> sessions)
    {
        var deadline = Stopwatch.GetTimestamp() + 15 * Stopwatch.Frequency;
        while (Count() < sessions.Count && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(200).ConfigureAwait(false);
        }

        var ended = _ended.Values.Where(e => sessions.Contains(e.SessionId)).ToList();
        if (ended.Count == 0)
        {
            Console.WriteLine("relay-side: no AiSessionEnded received");
            return RelaySide.None;
        }

        var inv = CultureInfo.InvariantCulture;
        var toCaller = ended.Sum(e => e.FramesToCaller);
        var lateTicks = ended.Sum(e => e.LateTicks);
        var side = new RelaySide(ended.Sum(e => e.FramesTrimmed), ended.Sum(e => e.FramesTrimmedForSkippedTicks),
            toCaller > 0 ? (double)lateTicks / toCaller : null);
        Console.WriteLine(string.Create(inv, $"relay-side (AiSessionEnded of {ended.Count} calls): frames to caller {toCaller}, to gateway {ended.Sum(e => e.FramesToGateway)}; underruns {ended.Sum(e => e.Underruns)}; frames trimmed (drift correction) {side.Frames}, of them for ticks the relay skipped {side.ForSkippedTicks} (the rest for gaps the bot's late audio left); late ticks (>2 ms) {lateTicks} ({100.0 * lateTicks / Math.Max(1, toCaller):0.00} % of the frames to callers); worst tick lateness {ended.Max(e => e.MaxLatenessMs):0.0} ms; ended by {string.Join(", ", ended.GroupBy(e => e.Reason).Select(g => $"{g.Key}: {g.Count()}"))}"));
        return side;

        int Count() => _ended.Keys.Count(sessions.Contains);
    }

    public async ValueTask DisposeAsync()
    {
        await _bus.StopAsync().ConfigureAwait(false);
        if (_process is not null)
        {
            await _process.DisposeAsync().ConfigureAwait(false);
        }

        await _broker.DisposeAsync().ConfigureAwait(false);
    }

    private static string DefaultRelayDll()
    {
        var path = Path.Combine(RepoPaths.Root, "services", "AstraPbx.MediaRelay", "bin", "Release", "net10.0", "AstraPbx.MediaRelay.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("AstraPbx.MediaRelay.dll (Release) not found; build it or pass --relay-dll");
    }
}
