using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AstraPbx.Simulators.AudioSocket;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AstraPbx.Simulators.Ari;

/// <summary>A stand-in for Asterisk's ARI (PROTOCOLS.md section 3) on 127.0.0.1: the REST subset the ingress uses, the
/// events WebSocket (<c>/ari/events?app=..</c>, basic auth or <c>api_key</c>), <c>/ari/asterisk/info</c>, with the JSON
/// shapes and error bodies recorded from a real Asterisk (shared/ari-samples). It also simulates the dialplan the
/// product ships: <c>continue</c> into the AudioSocket context dials <c>AUDIOSOCKET_SERVICE</c> with
/// <c>AUDIOSOCKET_UUID</c> exactly as <c>AudioSocket()</c> does. Like Asterisk, events produced while no socket of the
/// application is connected are dropped.</summary>
public sealed class AsteriskSimulator : IAsyncDisposable
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
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, simulator.Options.Port));
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.Use(simulator.AuthenticateAsync);
        simulator.MapRoutes(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        simulator.BaseUrl = address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        simulator._app = app;
        return simulator;
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
            var args = call.Options.StasisArgs.Length == 0 ? [] : call.Options.StasisArgs.Split(',');
            var delivered = Emit(call, "StasisStart", after: w =>
            {
                w.WriteStartArray("args");
                foreach (var arg in args)
                {
                    w.WriteStringValue(arg);
                }

                w.WriteEndArray();
            });
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

    // ---- REST ----

    private void MapRoutes(WebApplication app)
    {
        app.MapGet("/ari/asterisk/info", () => Json(w =>
        {
            w.WriteStartObject("build");
            w.WriteString("os", "Linux");
            w.WriteString("kernel", Environment.OSVersion.VersionString);
            w.WriteString("machine", "x86_64");
            w.WriteString("options", "");
            w.WriteString("date", "2026-11-23 00:00:00 UTC");
            w.WriteString("user", "astrapbx");
            w.WriteEndObject();
            w.WriteStartObject("system");
            w.WriteString("version", "22.0.0-astrapbx-simulator");
            w.WriteString("entity_id", Options.AsteriskId);
            w.WriteEndObject();
            w.WriteStartObject("config");
            w.WriteString("name", "");
            w.WriteString("default_language", "en");
            w.WriteStartObject("setid");
            w.WriteString("user", "asterisk");
            w.WriteString("group", "asterisk");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("status");
            w.WriteString("startup_time", Timestamp(DateTimeOffset.FromUnixTimeSeconds(_epoch)));
            w.WriteString("last_reload_time", Timestamp(DateTimeOffset.FromUnixTimeSeconds(_epoch)));
            w.WriteEndObject();
        }));

        app.MapGet("/ari/applications/{app}", (string app) => Json(w => WriteApplication(w, app)));

        app.MapPost("/ari/applications/{app}/subscription", (string app, string? eventSource) =>
        {
            const string prefix = "channel:";
            if (eventSource is null || !eventSource.StartsWith(prefix, StringComparison.Ordinal))
            {
                return Error(400, "Invalid event source");
            }

            if (!_channels.TryGetValue(eventSource[prefix.Length..], out var call))
            {
                return Error(422, "Event source does not exist");
            }

            lock (call)
            {
                if (call.Application == app)
                {
                    call.Subscribed = true;
                }
            }

            return Json(w => WriteApplication(w, app));
        });

        app.MapGet("/ari/channels/{id}", (string id) =>
            _channels.TryGetValue(id, out var call) ? Json(w => { lock (call) { WriteChannelBody(w, call); } }) : ChannelNotFound());

        app.MapDelete("/ari/channels/{id}", async (string id, string? reason) =>
        {
            if (!_channels.TryGetValue(id, out var call))
            {
                return ChannelNotFound();
            }

            if (call.AudioSocket is { } audio)
            {
                await audio.HangUpAsync().ConfigureAwait(false);
            }

            EndCall(call, CauseForReason(reason), SimulatedEndReason.HungUpByAri);
            return Results.NoContent();
        });

        app.MapPost("/ari/channels/{id}/answer", (string id) => InStasis(id, call =>
        {
            if (call.AnswerReceivedTimestamp == 0)
            {
                call.AnswerReceivedTimestamp = Stopwatch.GetTimestamp();
                call.SetAnswered(DateTimeOffset.UtcNow);
            }

            if (call.State != "Up")
            {
                call.State = "Up";
                Emit(call, "ChannelStateChange");
            }

            return Results.NoContent();
        }));

        app.MapPost("/ari/channels/{id}/variable", (string id, string? variable, string? value) => InStasis(id, call =>
        {
            if (string.IsNullOrEmpty(variable))
            {
                return Error(400, "Variable name is required");
            }

            call.Variables[variable] = value ?? "";
            Emit(call, "ChannelVarset", before: w =>
            {
                w.WriteString("variable", variable);
                w.WriteString("value", value ?? "");
            });
            return Results.NoContent();
        }));

        app.MapGet("/ari/channels/{id}/variable", (string id, string? variable) => InStasis(id, call =>
            variable is not null && call.Variables.TryGetValue(variable, out var value)
                ? Json(w => w.WriteString("value", value))
                : Error(404, "Provided variable was not found")));

        app.MapPost("/ari/channels/{id}/continue", (string id, string? context, string? extension, int? priority) => InStasis(id, call =>
        {
            var target = new DialplanTarget(context ?? call.Context, extension ?? call.Extension, priority ?? 1);
            call.Context = target.Context;
            call.Extension = target.Extension;
            call.Priority = target.Priority;
            Emit(call, "StasisEnd");
            call.InStasis = false;
            Emit(call, "ChannelVarset", before: w =>
            {
                w.WriteString("variable", "STASISSTATUS");
                w.WriteString("value", "SUCCESS");
            });
            call.SetContinued(target);
            if (string.Equals(target.Context, Options.AudioSocketContext, StringComparison.Ordinal))
            {
                lock (_dialplans)
                {
                    _dialplans.RemoveAll(t => t.IsCompleted);
                    _dialplans.Add(Task.Run(() => RunAudioSocketDialplanAsync(call)));
                }
            }
            else
            {
                // Some other dialplan (a queue, a phone): the channel stays up until someone hangs up.
                call.AppName = "";
                call.AppData = "";
            }

            return Results.NoContent();
        }));

        app.Map("/ari/events", AcceptEventSocketAsync);
    }

    /// <summary>ARI answers 404 for a gone channel and 409 for one that left Stasis.</summary>
    private IResult InStasis(string id, Func<SimulatedCall, IResult> action)
    {
        if (!_channels.TryGetValue(id, out var call))
        {
            return ChannelNotFound();
        }

        lock (call)
        {
            return call.Destroyed ? ChannelNotFound()
                : !call.InStasis ? Error(409, "Channel not in Stasis application")
                : action(call);
        }
    }

    private async Task AuthenticateAsync(HttpContext context, RequestDelegate next)
    {
        string? presented = null;
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                presented = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            }
            catch (FormatException)
            {
            }
        }
        else if (context.Request.Query.TryGetValue("api_key", out var key))
        {
            presented = key.ToString();
        }

        if (!string.Equals(presented, _expectedAuth, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _authFailures);
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"Asterisk REST Interface\"";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"message\":\"Authentication required\"}").ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    // ---- Dialplan ----

    /// <summary>[audiosocket-ai]: NoOp, Answer, AudioSocket(${AUDIOSOCKET_UUID},${AUDIOSOCKET_SERVICE}), Hangup().</summary>
    private async Task RunAudioSocketDialplanAsync(SimulatedCall call)
    {
        call.Variables.TryGetValue("AUDIOSOCKET_UUID", out var uuid);
        call.Variables.TryGetValue("AUDIOSOCKET_SERVICE", out var service);
        Step(call, 1, "NoOp", $"AudioSocket AI Agent: UUID={uuid} Service={service}");
        Step(call, 2, "Answer", "");
        Step(call, 3, "AudioSocket", $"{uuid},{service}");

        AudioSocketCaller caller;
        try
        {
            if (!Guid.TryParse(uuid, out var sessionId) || service is null || service.LastIndexOf(':') is var colon && colon <= 0
                || !int.TryParse(service.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                throw new FormatException($"AudioSocket needs a UUID and host:port, got '{uuid}' and '{service}'");
            }

            var source = Options.AudioSource?.Invoke(call) ?? new ToneSource();
            caller = await AudioSocketCaller.DialAsync(service[..colon], port, sessionId, source).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FormatException or System.Net.Sockets.SocketException or OperationCanceledException or IOException)
        {
            call.SetAudioSocketFailed(e);
            EndCall(call, 16, SimulatedEndReason.AudioSocketFailed);
            return;
        }

        lock (call)
        {
            if (call.Destroyed)
            {
                _ = caller.HangUpAsync();
                return;
            }

            call.SetAudioSocket(caller);
        }

        var how = await caller.Ended.ConfigureAwait(false);
        switch (how)
        {
            case CallerEnd.CallerHungUp:
                return;
            case CallerEnd.RelayHungUp:
                Step(call, 4, "Hangup", "");
                EndCall(call, 16, SimulatedEndReason.RelayHungUp);
                return;
            case CallerEnd.RejectedFrame:
                EndCall(call, 16, SimulatedEndReason.RelayRejected);
                return;
            default:
                EndCall(call, 16, SimulatedEndReason.RelayClosed);
                return;
        }
    }

    private void Step(SimulatedCall call, int priority, string app, string data)
    {
        lock (call)
        {
            if (call.Destroyed)
            {
                return;
            }

            call.Priority = priority;
            call.AppName = app;
            call.AppData = data;
            Emit(call, "ChannelDialplan", after: w =>
            {
                w.WriteString("dialplan_app", app);
                w.WriteString("dialplan_app_data", data);
            });
        }
    }

    /// <summary>Hangs the channel up once: <c>ChannelHangupRequest</c>, <c>StasisEnd</c> when in Stasis, <c>ChannelDestroyed</c>.</summary>
    internal void EndCall(SimulatedCall call, int cause, SimulatedEndReason reason)
    {
        var text = CauseText(cause);
        lock (call)
        {
            if (call.Destroyed)
            {
                return;
            }

            var wasInStasis = call.InStasis;
            Emit(call, "ChannelHangupRequest", before: w => w.WriteNumber("cause", cause));
            if (call.InStasis)
            {
                Emit(call, "StasisEnd");
            }

            call.AppName = "";
            call.AppData = "";
            Emit(call, "ChannelDestroyed", after: w =>
            {
                w.WriteNumber("cause", cause);
                w.WriteString("cause_txt", text);
            }, force: wasInStasis);
            call.InStasis = false;
            call.Subscribed = false;
            call.Destroyed = true;
            _channels.TryRemove(call.ChannelId, out _);
        }

        call.SetEnded(new SimulatedCallEnd(cause, text, reason));
    }

    internal void EmitDtmf(SimulatedCall call, char digit)
    {
        lock (call)
        {
            if (!call.Destroyed)
            {
                Emit(call, "ChannelDtmfReceived", before: w =>
                {
                    w.WriteString("digit", digit.ToString());
                    w.WriteNumber("duration_ms", 100);
                });
            }
        }
    }

    // ---- Events ----

    /// <summary>Writes one event for <paramref name="call"/> (caller holds <c>lock(call)</c>) and queues it on the
    /// application's sockets when Asterisk would deliver it: the channel is in Stasis or subscribed.</summary>
    private bool Emit(SimulatedCall call, string type, Action<Utf8JsonWriter>? before = null, Action<Utf8JsonWriter>? after = null, bool force = false)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            before?.Invoke(w);
            w.WriteString("type", type);
            w.WriteString("timestamp", Timestamp(DateTimeOffset.UtcNow));
            after?.Invoke(w);
            w.WriteStartObject("channel");
            WriteChannel(w, call);
            w.WriteEndObject();
            w.WriteString("asterisk_id", Options.AsteriskId);
            w.WriteString("application", call.Application);
            w.WriteEndObject();
        }

        var bytes = buffer.WrittenSpan.ToArray();
        var delivered = false;
        if (force || call.InStasis || call.Subscribed)
        {
            lock (_sockets)
            {
                foreach (var socket in _sockets)
                {
                    if (socket.Application == call.Application)
                    {
                        socket.Enqueue(bytes);
                        delivered = true;
                    }
                }
            }
        }

        call.Record(new SimulatedEvent(type, Encoding.UTF8.GetString(bytes), delivered));
        return delivered;
    }

    private async Task AcceptEventSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }

        if (_paused)
        {
            context.Response.StatusCode = 503;
            return;
        }

        var application = context.Request.Query["app"].ToString();
        if (application.Length == 0)
        {
            context.Response.StatusCode = 400;
            return;
        }

        using var webSocket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var socket = new EventSocket(webSocket, application);
        TaskCompletionSource connected;
        lock (_sockets)
        {
            _sockets.Add(socket);
            _connections++;
            connected = _socketConnected;
            _socketConnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        connected.TrySetResult();
        try
        {
            await socket.RunAsync(context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            lock (_sockets)
            {
                _sockets.Remove(socket);
            }
        }
    }

    // ---- JSON ----

    private void WriteApplication(Utf8JsonWriter w, string app)
    {
        w.WriteString("name", app);
        w.WriteStartArray("channel_ids");
        foreach (var call in _channels.Values)
        {
            if (call.Application == app && !call.Destroyed && (call.InStasis || call.Subscribed))
            {
                w.WriteStringValue(call.ChannelId);
            }
        }

        w.WriteEndArray();
        foreach (var empty in new[] { "bridge_ids", "endpoint_ids", "device_names", "events_allowed", "events_disallowed" })
        {
            w.WriteStartArray(empty);
            w.WriteEndArray();
        }
    }

    private static void WriteChannelBody(Utf8JsonWriter w, SimulatedCall call) => WriteChannel(w, call);

    private static void WriteChannel(Utf8JsonWriter w, SimulatedCall call)
    {
        w.WriteString("id", call.ChannelId);
        w.WriteString("name", call.Name);
        w.WriteString("state", call.State);
        w.WriteString("protocol_id", "");
        foreach (var party in new[] { "caller", "connected" })
        {
            w.WriteStartObject(party);
            w.WriteString("name", call.Options.CallerName);
            w.WriteString("number", call.Options.CallerNumber);
            w.WriteEndObject();
        }

        w.WriteString("accountcode", "");
        w.WriteStartObject("dialplan");
        w.WriteString("context", call.Context);
        w.WriteString("exten", call.Extension);
        w.WriteNumber("priority", call.Priority);
        w.WriteString("app_name", call.AppName);
        w.WriteString("app_data", call.AppData);
        w.WriteEndObject();
        w.WriteString("creationtime", call.CreationTime);
        w.WriteString("language", "en");
        if (call.Options.IncludeChannelVars)
        {
            w.WriteStartObject("channelvars");
            foreach (var (name, value) in call.Options.Variables)
            {
                w.WriteString(name, value);
            }

            w.WriteEndObject();
        }
    }

    private static IResult Json(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return Results.Bytes(buffer.WrittenSpan.ToArray(), "application/json");
    }

    private static IResult Error(int status, string message) =>
        Results.Text("{\"message\":" + JsonSerializer.Serialize(message) + "}", "application/json", Encoding.UTF8, status);

    private static IResult ChannelNotFound() => Error(404, "Channel not found");

    /// <summary>Asterisk's event time format: <c>2026-11-23T21:22:36.620+0000</c>.</summary>
    internal static string Timestamp(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);

    private static int CauseForReason(string? reason) => reason switch
    {
        "busy" => 17,
        "congestion" => 34,
        "no_answer" => 19,
        "timeout" => 18,
        "rejected" => 21,
        "unallocated" => 1,
        "normal_unspecified" => 31,
        "number_incomplete" => 28,
        "codec_mismatch" => 58,
        "interworking" => 127,
        "failed" => 38,
        "answered_elsewhere" => 26,
        _ => 16,
    };

    private static string CauseText(int cause) => cause switch
    {
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        26 => "Answered elsewhere",
        34 => "Circuit/channel congestion",
        38 => "Network out of order",
        _ => "Unknown",
    };

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

    /// <summary>One client of <c>/ari/events</c>: a queue written in order by one sender loop, and a receive loop that
    /// answers pings and notices the client going away.</summary>
    private sealed class EventSocket(WebSocket socket, string application)
    {
        private readonly Channel<byte[]> _queue = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Application { get; } = application;

        public Task Finished => _finished.Task;

        public void Enqueue(byte[] message) => _queue.Writer.TryWrite(message);

        public void Kill()
        {
            _queue.Writer.TryComplete();
            socket.Abort();
        }

        public async Task RunAsync(CancellationToken aborted)
        {
            try
            {
                var sending = SendAsync(aborted);
                var receiving = ReceiveAsync(aborted);
                await Task.WhenAny(sending, receiving).ConfigureAwait(false);
                socket.Abort();
                _queue.Writer.TryComplete();
                await Task.WhenAll(sending, receiving).ConfigureAwait(false);
            }
            finally
            {
                _finished.TrySetResult();
            }
        }

        private async Task SendAsync(CancellationToken aborted)
        {
            try
            {
                await foreach (var message in _queue.Reader.ReadAllAsync(aborted).ConfigureAwait(false))
                {
                    await socket.SendAsync(message, WebSocketMessageType.Text, true, aborted).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
        }

        private async Task ReceiveAsync(CancellationToken aborted)
        {
            var buffer = new byte[4096];
            try
            {
                while (true)
                {
                    var result = await socket.ReceiveAsync(buffer.AsMemory(), aborted).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
        }
    }
}
