using AstraPbx.Contracts.Media;

namespace AstraPbx.MediaRelay.Sessions;

/// <summary>What <see cref="EndReason"/> means on the wire: who ended the call, and the reason's name (Routing, the call
/// records and the dashboards read them, so they never change).</summary>
internal static class EndReasonExtensions
{
    /// <summary>The name carried by <c>AiSessionEnded.Reason</c>, the logs and the span tag.</summary>
    public static string ToWire(this EndReason reason) => reason switch
    {
        EndReason.RelayError => "relay-error",
        EndReason.CallerClosed => "caller-closed",
        EndReason.CallerReset => "caller-reset",
        EndReason.CallerHangup => "caller-hangup",
        EndReason.CallerError => "caller-error",
        EndReason.TruncatedFrame => "truncated-frame",
        EndReason.OversizedFrame => "oversized-frame",
        EndReason.UnsupportedAudioKind => "unsupported-audio-kind",
        EndReason.BadAudioLength => "bad-audio-length",
        EndReason.BadDtmf => "bad-dtmf",
        EndReason.UnexpectedUuid => "unexpected-uuid",
        EndReason.UnknownKind => "unknown-kind",
        EndReason.CallerNotReading => "caller-not-reading",
        EndReason.CallerIdle => "caller-idle",
        EndReason.GatewayClosed => "gateway-closed",
        EndReason.GatewayCloseError => "gateway-close-error",
        EndReason.GatewayKeepAliveTimeout => "gateway-keepalive-timeout",
        EndReason.GatewaySendTimeout => "gateway-send-timeout",
        EndReason.GatewayStop => "gateway-stop",
        EndReason.GatewayFailed => "gateway-failed",
        EndReason.GatewayMessageTooLarge => "gateway-message-too-large",
        EndReason.GatewayViolation => "gateway-violation",
        EndReason.NotClaimed => "not-claimed",
        EndReason.DrainTimeout => "drain-timeout",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    /// <summary>The side <c>AiSessionEnded.EndedBy</c> names. A drain ends a live call itself but reports a session
    /// Asterisk never claimed as <see cref="SessionEndedBy.NotClaimed"/>.</summary>
    public static SessionEndedBy EndedBy(this EndReason reason, bool wasLive) => reason switch
    {
        EndReason.CallerClosed or EndReason.CallerReset or EndReason.CallerHangup or EndReason.CallerError
            or EndReason.TruncatedFrame => SessionEndedBy.Caller,
        EndReason.GatewayClosed or EndReason.GatewayStop or EndReason.GatewayFailed or EndReason.GatewayCloseError
            or EndReason.GatewayKeepAliveTimeout or EndReason.GatewaySendTimeout
            or EndReason.GatewayMessageTooLarge or EndReason.GatewayViolation => SessionEndedBy.Gateway,
        EndReason.NotClaimed => SessionEndedBy.NotClaimed,
        EndReason.DrainTimeout => wasLive ? SessionEndedBy.Relay : SessionEndedBy.NotClaimed,
        _ => SessionEndedBy.Relay,
    };

    /// <summary>True when a live call ending for this reason resets the AudioSocket connection (RST, no 0x00, no FIN) so
    /// that <c>TryExec(AudioSocket(...))</c> gives <c>TRYSTATUS=FAILED</c> and the dialplan falls back (PROTOCOLS.md 1):
    /// the gateway failed or went silent, or the relay did. Only a deliberate end by the bot (<c>stop</c>, close
    /// 1000/1001) or a caller-side end hangs up with 0x00.</summary>
    public static bool ResetsCaller(this EndReason reason) => reason is EndReason.GatewayFailed or EndReason.GatewayCloseError
        or EndReason.GatewayKeepAliveTimeout or EndReason.GatewaySendTimeout or EndReason.GatewayMessageTooLarge
        or EndReason.GatewayViolation or EndReason.RelayError or EndReason.DrainTimeout;
}
