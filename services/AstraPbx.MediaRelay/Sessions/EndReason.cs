namespace AstraPbx.MediaRelay.Sessions;

/// <summary>Why a session ended. Control flow branches on these values; the wire name (<see cref="EndReasonExtensions.ToWire"/>)
/// is what <c>AiSessionEnded.Reason</c>, the logs and the span tag carry.</summary>
internal enum EndReason
{
    /// <summary><c>relay-error</c>: the relay failed (a tick threw, the read loop stopped unexpectedly). The AudioSocket is
    /// reset: the dialplan falls back.</summary>
    RelayError,

    /// <summary><c>caller-closed</c>: Asterisk closed the connection between frames.</summary>
    CallerClosed,

    /// <summary><c>caller-reset</c>: Asterisk's connection failed (reset).</summary>
    CallerReset,

    /// <summary><c>caller-hangup</c>: the caller side sent a hangup frame (0x00).</summary>
    CallerHangup,

    /// <summary><c>caller-error</c>: Asterisk sent an error frame (0xff).</summary>
    CallerError,

    /// <summary><c>truncated-frame</c>: Asterisk closed in the middle of a frame.</summary>
    TruncatedFrame,

    /// <summary><c>oversized-frame</c>: a frame longer than <see cref="Caller.CallerLeg.MaxPayloadFromCaller"/>, refused from its header.</summary>
    OversizedFrame,

    /// <summary><c>unsupported-audio-kind</c>: audio at a rate other than 8 or 16 kHz.</summary>
    UnsupportedAudioKind,

    /// <summary><c>bad-audio-length</c>: an empty or odd-length audio frame.</summary>
    BadAudioLength,

    /// <summary><c>bad-dtmf</c>: a DTMF frame that is not one digit 0-9, *, #, A-D.</summary>
    BadDtmf,

    /// <summary><c>unexpected-uuid</c>: a UUID frame after admission.</summary>
    UnexpectedUuid,

    /// <summary><c>unknown-kind</c>: a frame kind AudioSocket does not define.</summary>
    UnknownKind,

    /// <summary><c>caller-not-reading</c>: Asterisk's socket stayed full too long.</summary>
    CallerNotReading,

    /// <summary><c>caller-idle</c>: Asterisk started a frame and did not finish it within <see cref="RelayOptions.CallerIdleTimeout"/>.</summary>
    CallerIdle,

    /// <summary><c>gateway-closed</c>: the gateway closed its WebSocket normally (1000, or 1001 going away: the bot chose
    /// to end the call). Asterisk gets 0x00: the caller is hung up.</summary>
    GatewayClosed,

    /// <summary><c>gateway-close-error</c>: the gateway closed its WebSocket with a status other than 1000/1001 (an error
    /// close, 1011 and the like). The AudioSocket is reset: the dialplan falls back.</summary>
    GatewayCloseError,

    /// <summary><c>gateway-keepalive-timeout</c>: the gateway did not answer a WebSocket ping within
    /// <see cref="RelayOptions.GatewayKeepAliveTimeout"/> (a partition, a hung bot). The AudioSocket is reset.</summary>
    GatewayKeepAliveTimeout,

    /// <summary><c>gateway-send-timeout</c>: a send to the gateway did not complete within
    /// <see cref="RelayOptions.GatewaySendTimeout"/> (the bot stopped reading). The AudioSocket is reset.</summary>
    GatewaySendTimeout,

    /// <summary><c>gateway-stop</c>: the gateway sent a <c>stop</c> event.</summary>
    GatewayStop,

    /// <summary><c>gateway-failed</c>: the gateway's WebSocket failed mid-call (the socket is aborted, not closed). The
    /// AudioSocket is reset: the dialplan falls back.</summary>
    GatewayFailed,

    /// <summary><c>gateway-message-too-large</c>: a text message from the gateway over <c>Relay:MaxGatewayTextMessageBytes</c>
    /// (64 KiB), stopped while it is still arriving. The AudioSocket is reset.</summary>
    GatewayMessageTooLarge,

    /// <summary><c>gateway-violation</c>: the gateway broke a bound on what a bot controls (too many pending marks, a
    /// mark name, a text message or a JSON nesting over its limit). The AudioSocket is reset: the dialplan falls back.</summary>
    GatewayViolation,

    /// <summary><c>not-claimed</c>: Asterisk never claimed the prepared session.</summary>
    NotClaimed,

    /// <summary><c>drain-timeout</c>: the relay drained and the call outlived the drain timeout. The AudioSocket is reset,
    /// not hung up: the bot did not choose to end the call, so the dialplan hands the caller to the fallback (a person)
    /// rather than hanging up on them because a relay pod was replaced.</summary>
    DrainTimeout,
}
