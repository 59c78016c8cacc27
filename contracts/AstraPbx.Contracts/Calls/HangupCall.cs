using MassTransit;

namespace AstraPbx.Contracts.Calls;

/// <summary>Command, sent by Routing to the call's own AriIngress: hang the channel up.</summary>
[MessageUrn("astrapbx:calls:hangup-call:v1")]
public sealed record HangupCall
{
    /// <summary>The Asterisk channel id.</summary>
    public required string CallId { get; init; }

    /// <summary>The Asterisk server's entity id.</summary>
    public required string AsteriskId { get; init; }

    /// <summary>The ARI hangup reason (<c>normal</c>, <c>busy</c>, <c>congestion</c>, ...).</summary>
    public string Reason { get; init; } = "normal";
    /// <summary>The Stasis entry this command answers (<see cref="CallEnteredStasis.EnteredAt"/>). The ingress ignores,
    /// and logs, a command for an entry that is not the channel's current one or that was already handled (for example
    /// by the edge fallback). Null: no check.</summary>
    public DateTimeOffset? EnteredAt { get; init; }
}
