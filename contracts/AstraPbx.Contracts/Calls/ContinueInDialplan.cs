using MassTransit;

namespace AstraPbx.Contracts.Calls;

/// <summary>Command, sent by Routing to the call's own AriIngress: leave Stasis and continue at
/// <c>Context,Extension,Priority</c>.</summary>
[MessageUrn("astrapbx:calls:continue-in-dialplan:v1")]
public sealed record ContinueInDialplan
{
    /// <summary>The Asterisk channel id.</summary>
    public required string CallId { get; init; }

    /// <summary>The Asterisk server's entity id.</summary>
    public required string AsteriskId { get; init; }

    /// <summary>The dialplan context to continue in.</summary>
    public required string Context { get; init; }

    /// <summary>The extension to continue at.</summary>
    public required string Extension { get; init; }

    /// <summary>The priority to continue at (1-based).</summary>
    public int Priority { get; init; } = 1;

    /// <summary>Why, for logs and the call record (e.g. <c>queue-timeout</c>, <c>fallback:loop</c>).</summary>
    public string Reason { get; init; } = "";
    /// <summary>The Stasis entry this command answers (<see cref="CallEnteredStasis.EnteredAt"/>). The ingress ignores,
    /// and logs, a command for an entry that is not the channel's current one or that was already handled (for example
    /// by the edge fallback). Null: no check.</summary>
    public DateTimeOffset? EnteredAt { get; init; }
}
