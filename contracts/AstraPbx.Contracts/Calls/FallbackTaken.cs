using MassTransit;

namespace AstraPbx.Contracts.Calls;

/// <summary>Event: a call was sent to a fallback (or hung up) by a decision that Routing's database has not recorded:
/// the ingress's edge fallback (no command arrived in time) or Routing deciding while its database was unreachable.
/// Routing writes it into the call record once the database answers (bounded retry). Published through the
/// services' outbound queue, so a broker outage delays it but does not drop it.</summary>
[MessageUrn("astrapbx:calls:fallback-taken:v1")]
public sealed record FallbackTaken
{
    /// <summary>The Stasis entry that was decided, as the ingress published it.</summary>
    public required CallEnteredStasis Entry { get; init; }

    /// <summary>Who decided: <see cref="DecidedByIngress"/> or <see cref="DecidedByRouting"/>.</summary>
    public required string DecidedBy { get; init; }

    /// <summary><see cref="RouteOutcome.Fallback"/> (continued to the fallback) or <see cref="RouteOutcome.Hangup"/>
    /// (no fallback configured).</summary>
    public required RouteOutcome Outcome { get; init; }

    /// <summary>Why, e.g. <c>edge:no-command-within-2800ms</c> or <c>database-unavailable</c>.</summary>
    public string Reason { get; init; } = "";

    /// <summary>The dialplan target (<c>context,exten,priority</c>), or the hangup reason.</summary>
    public string Destination { get; init; } = "";

    /// <summary>When the decision was carried out (UTC).</summary>
    public DateTimeOffset TakenAt { get; init; }

    /// <summary>The ingress's edge fallback took the call.</summary>
    public const string DecidedByIngress = "ingress";

    /// <summary>Routing decided without its database.</summary>
    public const string DecidedByRouting = "routing";
}
