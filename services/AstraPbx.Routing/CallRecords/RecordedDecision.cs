using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;

namespace AstraPbx.Routing.CallRecords;

/// <summary>A decision for one Stasis entry, as <c>routing_decisions</c> and <c>call_records</c> keep it.</summary>
/// <param name="Outcome">What the call became.</param>
/// <param name="Reason">Why (<c>CallRouted.Reason</c>).</param>
/// <param name="Path">The destinations followed.</param>
/// <param name="Destination">The dialplan target, redacted gateway URL or <c>hangup</c>.</param>
/// <param name="DecidedBy"><see cref="FallbackTaken.DecidedByRouting"/> or <see cref="FallbackTaken.DecidedByIngress"/>.</param>
/// <param name="DecidedAt">When the decision was made (or carried out, for the ingress).</param>
public sealed record RecordedDecision(RouteOutcome Outcome, string Reason, IReadOnlyList<string> Path, string Destination, string DecidedBy, DateTimeOffset DecidedAt)
{
    /// <summary><c>StartAiSession</c> attempts made for this entry.</summary>
    public int AiAttempts { get; init; }

    /// <summary>The relay's answer when an AI session was connected.</summary>
    public AiSessionReady? Session { get; init; }
}
