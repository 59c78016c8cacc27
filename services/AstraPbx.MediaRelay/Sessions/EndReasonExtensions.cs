namespace AstraPbx.MediaRelay.Sessions;

/// <summary>The wire names of <see cref="EndReason"/>: Routing, the call records and the dashboards read them, so they
/// never change.</summary>
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
        EndReason.GatewayStop => "gateway-stop",
        EndReason.GatewayFailed => "gateway-failed",
        EndReason.GatewayMessageTooLarge => "gateway-message-too-large",
        EndReason.NotClaimed => "not-claimed",
        EndReason.DrainTimeout => "drain-timeout",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}
