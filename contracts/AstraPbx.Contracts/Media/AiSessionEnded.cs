using MassTransit;

namespace AstraPbx.Contracts.Media;

/// <summary>Event, published by the relay once a session ended, with its counters.</summary>
[MessageUrn("astrapbx:media:ai-session-ended:v1")]
public sealed record AiSessionEnded
{
    /// <summary>The Asterisk channel id.</summary>
    public required string CallId { get; init; }

    /// <summary>The Asterisk server's entity id.</summary>
    public required string AsteriskId { get; init; }

    /// <summary>The AudioSocket session UUID.</summary>
    public required Guid SessionId { get; init; }

    /// <summary>Which side ended the session.</summary>
    public required SessionEndedBy EndedBy { get; init; }

    /// <summary>The specific reason, e.g. <c>caller-closed</c>, <c>gateway-stop</c>, <c>gateway-closed</c>,
    /// <c>oversized-frame</c>, <c>drain-timeout</c>, <c>not-claimed</c>.</summary>
    public string Reason { get; init; } = "";

    /// <summary>From Asterisk's connection (or from preparation, for a session never claimed) to the end.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>20 ms audio frames received from Asterisk and sent to the gateway.</summary>
    public long FramesToGateway { get; init; }

    /// <summary>Audio frames written to Asterisk (bot audio and silence fill), one per 20 ms tick.</summary>
    public long FramesToCaller { get; init; }

    /// <summary>PCM bytes received from Asterisk.</summary>
    public long BytesToGateway { get; init; }

    /// <summary>PCM bytes written to Asterisk.</summary>
    public long BytesToCaller { get; init; }

    /// <summary>Ticks at which the jitter buffer was empty after bot audio had started (silence was sent instead).</summary>
    public long Underruns { get; init; }

    /// <summary>Late bot audio frames dropped to give back the delay a gap in the stream or missed ticks had added
    /// (jitter-buffer drift correction).</summary>
    public long FramesTrimmed { get; init; }

    /// <summary>Of <see cref="FramesTrimmed"/>, those that gave back ticks the relay skipped (its clock stalled, or
    /// Asterisk stopped reading); the rest gave back gaps left by bot audio that came late. Counted against skipped
    /// ticks first: zero means no frame was trimmed for the relay's own stalls.</summary>
    public long FramesTrimmedForSkippedTicks { get; init; }

    /// <summary>Ticks that fired more than 2 ms late.</summary>
    public long LateTicks { get; init; }

    /// <summary>The worst tick lateness seen, in milliseconds.</summary>
    public double MaxLatenessMs { get; init; }

    /// <summary>The relay instance that held the session.</summary>
    public string RelayInstance { get; init; } = "";

    /// <summary>When the session ended (UTC).</summary>
    public DateTimeOffset EndedAt { get; init; }
}
