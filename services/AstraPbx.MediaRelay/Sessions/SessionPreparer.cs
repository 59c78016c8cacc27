using System.Diagnostics;
using System.Net.WebSockets;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Capacity;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.ServiceDefaults.Telemetry;
using AstraPbx.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Sessions;

/// <summary>Prepares an AI session for <c>StartAiSession</c>: checks capacity and the URL, connects the gateway,
/// sends the handshake, registers the one-shot pending session and starts reading the gateway.</summary>
public sealed class SessionPreparer(
    SessionRegistry registry,
    CapacityMonitor capacity,
    GatewayConnector connector,
    RelayEndpoints endpoints,
    IOutboundPublisher outbound,
    IOptions<RelayOptions> options,
    ILogger<SessionPreparer> logger)
{
    private readonly RelayOptions _options = options.Value;

    /// <summary>A warm-up's preparer: its sessions are not counted in the relay's metrics (sessions started and failed,
    /// gateway connect time), which describe real calls.</summary>
    internal bool Synthetic { get; init; }

    public async Task<PrepareResult> PrepareAsync(StartAiSession request, CancellationToken cancellationToken)
    {
        var gateway = SecretRedactor.RedactUrl(request.GatewayUrl);
        if (registry.TryGet(request.SessionId, out var existing) && existing.IsPending)
        {
            // At-least-once delivery: the same request again gets the same answer, not a second gateway connection.
            return new PrepareResult(Ready(request, 0), null);
        }

        if (registry.Draining)
        {
            return Fail(request, AiSessionFailure.Draining, "relay is draining", gateway);
        }

        if (registry.WasUsed(request.SessionId) || existing is not null)
        {
            return Fail(request, AiSessionFailure.Other, "session id already used", gateway);
        }

        if (!Uri.TryCreate(request.GatewayUrl, UriKind.Absolute, out var url) || url.Scheme is not ("ws" or "wss") || url.Host.Length == 0)
        {
            return Fail(request, AiSessionFailure.InvalidUrl, "not a ws:// or wss:// URL", gateway);
        }

        if (AudioSocketFormat.KindForRate(request.CallerSampleRate) is not (AudioSocketKind.Slin or AudioSocketKind.Slin16))
        {
            return Fail(request, AiSessionFailure.Other, $"caller sample rate {request.CallerSampleRate} Hz is not an AudioSocket rate the relay plays (8000 or 16000)", gateway);
        }

        // A warm-up's session asks too (the path is warmed), but runs while the relay says it has no room to take calls.
        if (!capacity.HasRoom(registry.Reserved) && !Synthetic)
        {
            var state = capacity.State;
            return Fail(request, AiSessionFailure.OverCapacity, $"no headroom ({state.Limiter}, {state.Sessions} sessions, load {state.Load:0.00})", gateway);
        }

        if (!registry.TryReserve())
        {
            return Fail(request, AiSessionFailure.OverCapacity, $"at the limit of {_options.MaxSessions} sessions", gateway);
        }

        var started = Stopwatch.GetTimestamp();
        GatewayConnection? socket = null;
        try
        {
            socket = await connector.ConnectAsync(url, cancellationToken).ConfigureAwait(false);
            await SendHandshakeAsync(socket.Socket, request, cancellationToken).ConfigureAwait(false);
        }
        catch (GatewayConnectException e)
        {
            socket?.Dispose();
            registry.Release();
            RecordConnect(Stopwatch.GetElapsedTime(started).TotalMilliseconds, e.Reason.ToString());
            return Fail(request, e.Reason, e.Message, gateway);
        }
        catch
        {
            socket?.Dispose();
            registry.Release();
            throw;
        }

        var connectMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        RecordConnect(connectMs, "connected");

        // The media-session span lives as long as the call; it is a child of the consume span (Activity.Current
        // here) but must not become the consumer's current activity. Its parent is given as a context, not the
        // Activity object: a child keeps its parent Activity reachable (Activity.Parent), and the consume span with
        // its tags would then live as long as the call (about 1.5 KB per session in a heap dump).
        var parent = Activity.Current;
        var activity = RelayTelemetry.Source.StartActivity("media-session", ActivityKind.Internal, parent?.Context ?? default);
        Activity.Current = parent;
        activity?.SetTag("astrapbx.call_id", request.CallId);
        activity?.SetTag("astrapbx.asterisk_id", request.AsteriskId);
        activity?.SetTag("astrapbx.session_id", request.SessionId.ToString());
        activity?.SetTag("astrapbx.media_mode", request.MediaMode.ToString());
        activity?.SetTag("astrapbx.gateway", gateway);
        activity?.SetTag("astrapbx.relay_instance", _options.Instance);

        var session = new RelaySession(request, socket.Own, activity, new SessionServices(outbound, _options, logger), socket.Transport);
        if (!registry.TryAdd(session))
        {
            // A concurrent duplicate won the race; this connection is not needed.
            socket.Socket.Abort();
            socket.Dispose();
            registry.Release();
            activity?.Dispose();
            return registry.TryGet(request.SessionId, out var winner) && winner.IsPending
                ? new PrepareResult(Ready(request, connectMs), null)
                : Fail(request, AiSessionFailure.Other, "session id already used", gateway);
        }

        session.StartGateway();
        if (!Synthetic)
        {
            RelayTelemetry.SessionsStarted.Add(1);
        }

        MediaRelayLog.SessionPrepared(logger, request.CallId, request.SessionId, gateway, request.MediaMode, connectMs);
        return new PrepareResult(Ready(request, connectMs), null);
    }

    private static async Task SendHandshakeAsync(WebSocket socket, StartAiSession request, CancellationToken cancellationToken)
    {
        try
        {
            await socket.SendAsync(GatewayHandshake.Connected(), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
            await socket.SendAsync(GatewayHandshake.Start(request), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            throw new GatewayConnectException(AiSessionFailure.HandshakeRejected, "gateway closed during the handshake");
        }
    }

    private AiSessionReady Ready(StartAiSession request, double connectMs) => new()
    {
        CallId = request.CallId,
        AsteriskId = request.AsteriskId,
        SessionId = request.SessionId,
        RelayEndpoint = endpoints.Advertised,
        RelayInstance = _options.Instance,
        GatewayConnectMs = connectMs,
    };

    /// <summary>A request that waited on the queue while this relay had no room (<see cref="StartAiSessionEndpoint.SentWhilePaused"/>):
    /// refused without a gateway connection, as the sender may have sent the call to the fallback meanwhile.</summary>
    public PrepareResult RefuseQueuedWhileFull(StartAiSession request) =>
        Fail(request, AiSessionFailure.OverCapacity, "queued while this relay had no room (sent before it resumed)", SecretRedactor.RedactUrl(request.GatewayUrl));

    private void RecordConnect(double milliseconds, string outcome)
    {
        if (!Synthetic)
        {
            RelayTelemetry.GatewayConnect.Record(milliseconds, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    private PrepareResult Fail(StartAiSession request, AiSessionFailure reason, string detail, string gateway)
    {
        registry.CountFailed();
        if (!Synthetic)
        {
            RelayTelemetry.SessionsFailed.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));
        }

        MediaRelayLog.SessionPrepareFailed(logger, request.CallId, request.SessionId, reason, detail, gateway);
        return new PrepareResult(null, new AiSessionFailed
        {
            CallId = request.CallId,
            AsteriskId = request.AsteriskId,
            SessionId = request.SessionId,
            Reason = reason,
            Detail = detail,
            RelayInstance = _options.Instance,
        });
    }
}
