using AstraPbx.Contracts.Media;

namespace AstraPbx.MediaRelay;

/// <summary>Every log event of the relay. Call events carry the CallId; gateway URLs appear only redacted.</summary>
internal static partial class MediaRelayLog
{
    [LoggerMessage(3001, LogLevel.Information, "Session {SessionId} for call {CallId} prepared: gateway {Gateway} ({Mode}) connected in {ConnectMs:0.0} ms")]
    public static partial void SessionPrepared(ILogger logger, string callId, Guid sessionId, string gateway, MediaMode mode, double connectMs);

    [LoggerMessage(3002, LogLevel.Warning, "Session {SessionId} for call {CallId} not prepared: {Reason} ({Detail}); gateway {Gateway}")]
    public static partial void SessionPrepareFailed(ILogger logger, string callId, Guid sessionId, AiSessionFailure reason, string detail, string gateway);

    [LoggerMessage(3003, LogLevel.Information, "Session {SessionId} for call {CallId} claimed by AudioSocket connection {ConnectionId} from {Remote}")]
    public static partial void SessionClaimed(ILogger logger, string callId, Guid sessionId, string connectionId, string? remote);

    [LoggerMessage(3004, LogLevel.Warning, "AudioSocket connection {ConnectionId} from {Remote} refused: {Reason} (session {SessionId})")]
    public static partial void AdmissionRefused(ILogger logger, string connectionId, string? remote, string reason, Guid sessionId);

    [LoggerMessage(3005, LogLevel.Information, "Session {SessionId} for call {CallId} ended by {EndedBy}: {Reason}; {FramesToGateway} frames to gateway, {FramesToCaller} to caller, {Underruns} underruns")]
    public static partial void SessionEnded(ILogger logger, string callId, Guid sessionId, SessionEndedBy endedBy, string reason, long framesToGateway, long framesToCaller, long underruns);

    [LoggerMessage(3006, LogLevel.Warning, "Session {SessionId} for call {CallId}: bad input from Asterisk, {Reason}; closing this session only")]
    public static partial void MalformedInput(ILogger logger, string callId, Guid sessionId, string reason);

    [LoggerMessage(3007, LogLevel.Warning, "Session {SessionId} for call {CallId}: gateway failed mid-call ({Error})")]
    public static partial void GatewayFailed(ILogger logger, string callId, Guid sessionId, string error);

    [LoggerMessage(3008, LogLevel.Debug, "Session {SessionId} for call {CallId}: gateway control event {Event}")]
    public static partial void GatewayControl(ILogger logger, string callId, Guid sessionId, string @event);

    [LoggerMessage(3009, LogLevel.Warning, "Draining: no new sessions; {Live} live sessions may run up to {Timeout}")]
    public static partial void DrainStarted(ILogger logger, int live, TimeSpan timeout);

    [LoggerMessage(3010, LogLevel.Warning, "Drain timeout: ending {Live} live sessions")]
    public static partial void DrainTimedOut(ILogger logger, int live);

    [LoggerMessage(3040, LogLevel.Warning, "Drain: start-ai-session did not stop within {Wait}; draining goes on (new requests are refused as draining)")]
    public static partial void DrainEndpointStopSlow(ILogger logger, TimeSpan wait);

    [LoggerMessage(3011, LogLevel.Information, "AudioSocket listening on {Endpoint}, advertised as {Advertised}")]
    public static partial void Listening(ILogger logger, string endpoint, string advertised);

    [LoggerMessage(3012, LogLevel.Warning, "Playout lane {Lane} resynchronised after a {LatenessMs:0.0} ms stall ({Resyncs} resyncs so far)")]
    public static partial void ClockResync(ILogger logger, int lane, double latenessMs, long resyncs);

    [LoggerMessage(3016, LogLevel.Information, "Playout clock: {Lanes} lanes, one 20 ms schedule; thread priority raised: {Raised}")]
    public static partial void ClockStarted(ILogger logger, int lanes, bool raised);

    [LoggerMessage(3014, LogLevel.Trace, "Session {SessionId} for call {CallId}: frame {Kind} of {Length} bytes from Asterisk")]
    public static partial void FrameFromCaller(ILogger logger, string callId, Guid sessionId, byte kind, int length);

    [LoggerMessage(3017, LogLevel.Warning, "Session {SessionId} for call {CallId} abandoned: the StartAiSession request expired (Routing stopped waiting) before the gateway answered")]
    public static partial void RequestExpired(ILogger logger, string callId, Guid sessionId);

    [LoggerMessage(3015, LogLevel.Error, "Playout clock tick failed for session {SessionId} of call {CallId}")]
    public static partial void TickFailed(ILogger logger, Exception exception, string callId, Guid sessionId);

    [LoggerMessage(3035, LogLevel.Warning, "Session {SessionId} for call {CallId}: the gateway broke a bound ({Violation}); the session ends, the caller goes to the fallback")]
    public static partial void GatewayViolation(ILogger logger, string callId, Guid sessionId, Gateway.GatewayViolation violation);

    [LoggerMessage(3030, LogLevel.Warning, "Session {SessionId} for call {CallId}: the gateway closed its WebSocket with error status {Status}; the caller goes to the fallback")]
    public static partial void GatewayErrorClose(ILogger logger, string callId, Guid sessionId, int status);

    [LoggerMessage(3031, LogLevel.Warning, "Session {SessionId} for call {CallId}: the gateway answered no WebSocket ping within {Timeout} (partitioned or hung); the caller goes to the fallback")]
    public static partial void GatewayKeepAliveTimedOut(ILogger logger, string callId, Guid sessionId, TimeSpan timeout);

    [LoggerMessage(3032, LogLevel.Warning, "Session {SessionId} for call {CallId}: a send to the gateway did not complete within {Timeout} (the bot is not reading); the caller goes to the fallback")]
    public static partial void GatewaySendTimedOut(ILogger logger, string callId, Guid sessionId, TimeSpan timeout);

    [LoggerMessage(3033, LogLevel.Information, "Session {SessionId} for call {CallId}: AudioSocket connection reset ({Reason}) so Asterisk's dialplan falls back")]
    public static partial void CallerConnectionReset(ILogger logger, string callId, Guid sessionId, string reason);

    [LoggerMessage(3034, LogLevel.Warning, "AudioSocket accept failed ({Error}); the listener goes on")]
    public static partial void AcceptFailed(ILogger logger, string error);

    [LoggerMessage(3039, LogLevel.Error, "AudioSocket connection {ConnectionId} failed in its handler; it is reset (the dialplan falls back)")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(3035, LogLevel.Warning, "Session {SessionId} for call {CallId}: prepared for AudioSocket kind 0x{Prepared:x2}, but Asterisk sends 0x{Received:x2}; its audio is resampled, the playout stays 0x{Prepared:x2} (check the route's rate against the dialplan)")]
    public static partial void CallerKindMismatch(ILogger logger, string callId, Guid sessionId, byte prepared, byte received);

    [LoggerMessage(3036, LogLevel.Warning, "No room for another session ({Limiter}: {Sessions} sessions, CPU {CpuUsed:0.00} of {CpuLimit:0.00} cores, {LateRatio:P1} of ticks late): StartAiSession is left to other relays until there is")]
    public static partial void CapacityFull(ILogger logger, string limiter, int sessions, double cpuUsed, double cpuLimit, double lateRatio);

    [LoggerMessage(3037, LogLevel.Information, "Room again ({Headroom} more sessions, {Sessions} now): taking StartAiSession")]
    public static partial void CapacityRoom(ILogger logger, int headroom, int sessions);

    [LoggerMessage(3041, LogLevel.Information, "Warming up: StartAiSession is left to other relays until the call path is warm")]
    public static partial void CapacityWarming(ILogger logger);

    [LoggerMessage(3038, LogLevel.Debug, "RelayCapacity not published: {Reason}")]
    public static partial void CapacityNotPublished(ILogger logger, string reason);
}
