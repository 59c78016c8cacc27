using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using AstraPbx.Simulators.Hosting;
using Microsoft.AspNetCore.Builder;

namespace AstraPbx.Simulators.Ari;

/// <summary>A stand-in for Asterisk's ARI (PROTOCOLS.md section 3) on 127.0.0.1: the REST subset the ingress uses, the
/// events WebSocket (<c>/ari/events?app=..</c>, basic auth or <c>api_key</c>), <c>/ari/asterisk/info</c>, with the JSON
/// shapes and error bodies recorded from a real Asterisk (shared/ari-samples). It also simulates the dialplan the
/// product ships: <c>continue</c> into the AudioSocket context dials <c>AUDIOSOCKET_SERVICE</c> with
/// <c>AUDIOSOCKET_UUID</c> exactly as <c>AudioSocket()</c> does. Like Asterisk, events produced while no socket of the
/// application is connected are dropped. Also like Asterisk (res_stasis): an application whose last socket closes is
/// deactivated, not destroyed, and keeps its channel subscriptions (Asterisk destroys it only once it has none left);
/// a socket that connects again for it gets the subscribed channels' events again (their <c>ChannelDestroyed</c>
/// included), and <c>GET /applications/{app}</c> lists in <c>channel_ids</c> the channels in its Stasis and the channels
/// it is subscribed to, in Stasis or not. The issue 11 measurement on a real Asterisk showed the latter: after an
/// ingress restart the resync listed the AI call that had left Stasis.</summary>
public sealed partial class AsteriskSimulator : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, SimulatedCall> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SimulatedCall> _allCalls = new(StringComparer.Ordinal);
    private readonly List<EventSocket> _sockets = [];
    private readonly List<Task> _dialplans = [];
    private readonly long _epoch = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly string _expectedAuth;
    private TaskCompletionSource _socketConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;
    private volatile bool _paused;
    private int _channelCounter;
    private int _connections;
    private int _authFailures;

    private AsteriskSimulator(AsteriskSimulatorOptions options)
    {
        Options = options;
        _expectedAuth = options.Username + ":" + options.Password;
    }

    public AsteriskSimulatorOptions Options { get; }

    /// <summary><c>http://127.0.0.1:port</c>: the ingress's <c>Ari:BaseUrl</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Requests and socket upgrades refused with 401.</summary>
    public int AuthenticationFailures => Volatile.Read(ref _authFailures);

    /// <summary>Events sockets accepted since start.</summary>
    public int EventSocketConnections => Volatile.Read(ref _connections);

    /// <summary>Events sockets open now.</summary>
    public int ConnectedEventSockets
    {
        get
        {
            lock (_sockets)
            {
                return _sockets.Count;
            }
        }
    }

    /// <summary>Every call started, by channel id (ended ones included).</summary>
    public IReadOnlyDictionary<string, SimulatedCall> Calls => _allCalls;

    /// <summary>Starts the simulator on 127.0.0.1 (a free port unless <see cref="AsteriskSimulatorOptions.Port"/> is set).</summary>
    public static async Task<AsteriskSimulator> StartAsync(AsteriskSimulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var simulator = new AsteriskSimulator(options ?? new AsteriskSimulatorOptions());
        var (app, port) = await LoopbackServer.StartAsync(simulator.Options.Port, TimeSpan.FromSeconds(30), app =>
        {
            app.Use(simulator.AuthenticateAsync);
            app.Use(simulator.CountCommandAsync);
            simulator.MapRoutes(app);
        }, cancellationToken).ConfigureAwait(false);
        simulator.BaseUrl = "http://127.0.0.1:" + port;
        simulator._app = app;
        await simulator.WarmRoutesAsync(cancellationToken).ConfigureAwait(false);
        return simulator;
    }

    /// <summary>Asterisk answers its REST calls in about a millisecond from the first call on; this stand-in would not:
    /// the first request to each route builds and compiles that route's handler (on this machine the first call's three
    /// concurrent <c>POST</c>s took 56 ms against 1 ms warm, inside the ingress's measured setup). So before it reports
    /// started, it sends itself one request per route, on a channel that does not exist (404, 422: no call, no event, no
    /// command counted), with its own credentials (no authentication failure counted).</summary>
    private async Task WarmRoutesAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(BaseUrl) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(_expectedAuth)));
        const string channel = "/ari/channels/warm-up";
        var requests = new (HttpMethod Method, string Path)[]
        {
            (HttpMethod.Get, "/ari/asterisk/info"),
            (HttpMethod.Get, "/ari/applications/warm-up"),
            (HttpMethod.Post, "/ari/applications/warm-up/subscription?eventSource=channel:warm-up"),
            (HttpMethod.Get, channel),
            (HttpMethod.Post, channel + "/answer"),
            (HttpMethod.Get, channel + "/variable?variable=WARM_UP"),
            (HttpMethod.Post, channel + "/variable?variable=WARM_UP&value=1"),
            (HttpMethod.Post, channel + "/continue?context=warm-up&extension=s&priority=1"),
            (HttpMethod.Delete, channel + "?reason=normal"),
        };
        foreach (var (method, path) in requests)
        {
            using var request = new HttpRequestMessage(method, path);
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A call arrives and the dialplan runs <c>Stasis(app, args)</c>: the channel (state <c>Ring</c>) enters
    /// Stasis and <c>StasisStart</c> goes to the application's events sockets (dropped if none is connected).</summary>
    public Task<SimulatedCall> StartCallAsync(SimulatedCallOptions? options = null)
    {
        var n = Interlocked.Increment(ref _channelCounter);
        var call = new SimulatedCall(this, $"{_epoch}.{n}", options ?? new SimulatedCallOptions());
        _channels[call.ChannelId] = call;
        _allCalls[call.ChannelId] = call;
        lock (call)
        {
            var delivered = EmitStasisStart(call, call.Options.StasisArgs);
            if (delivered)
            {
                call.StasisStartSentTimestamp = Stopwatch.GetTimestamp();
            }
        }

        return Task.FromResult(call);
    }

    /// <summary>Completes when at least <paramref name="connections"/> events sockets have been accepted since start
    /// and one is open now.</summary>
    public async Task WaitForEventSocketAsync(int connections = 1, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task next;
            lock (_sockets)
            {
                if (_connections >= connections && _sockets.Count > 0)
                {
                    return;
                }

                next = _socketConnected.Task;
            }

            await next.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Kills every open events socket (no close handshake), as when Asterisk restarts or the network drops.</summary>
    public Task DisconnectEventSocketsAsync()
    {
        EventSocket[] open;
        lock (_sockets)
        {
            open = [.. _sockets];
        }

        foreach (var socket in open)
        {
            socket.Kill();
        }

        return Task.WhenAll(open.Select(s => s.Finished));
    }

    /// <summary>Kills the open events sockets and refuses new ones (503) until <see cref="ResumeEventSockets"/>.
    /// Calls started meanwhile produce no delivered events.</summary>
    public Task PauseEventSocketsAsync()
    {
        _paused = true;
        return DisconnectEventSocketsAsync();
    }

    public void ResumeEventSockets() => _paused = false;

    /// <summary>Sends any text on every open events socket, for malformed-event tests.</summary>
    public Task SendRawEventAsync(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Enqueue(bytes);
            }
        }

        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var call in _channels.Values)
        {
            if (call.AudioSocket is { } audio)
            {
                await audio.DisposeAsync().ConfigureAwait(false);
            }
        }

        await DisconnectEventSocketsAsync().ConfigureAwait(false);
        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
