using MassTransit;

namespace AstraPbx.Contracts.Calls;

/// <summary>Event, published by AriIngress exactly once per call when the channel is really hung up
/// (<c>ChannelDestroyed</c>, whose cause is the call's; never on <c>StasisEnd</c>), or when a command or the resync
/// found the channel already gone.</summary>
[MessageUrn("astrapbx:calls:call-ended:v1")]
public sealed record CallEnded
{
    /// <summary>The Asterisk channel id.</summary>
    public required string CallId { get; init; }

    /// <summary>The Asterisk server's entity id.</summary>
    public required string AsteriskId { get; init; }

    /// <summary>The Q.850 hangup cause Asterisk reported (16 = normal clearing); 0 when unknown.</summary>
    public int Cause { get; init; }

    /// <summary>Asterisk's text for the cause (<c>cause_txt</c>), e.g. <c>Normal Clearing</c>.</summary>
    public string CauseText { get; init; } = "";

    /// <summary>When the hangup was seen (UTC).</summary>
    public DateTimeOffset EndedAt { get; init; }
}
