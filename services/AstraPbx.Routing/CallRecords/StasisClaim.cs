using AstraPbx.Contracts.Calls;

namespace AstraPbx.Routing.CallRecords;

/// <summary>The outcome of claiming one Stasis entry of a call.</summary>
/// <param name="Claimed">True when this instance now holds the claim and must decide the entry.</param>
/// <param name="Entries">How many times the channel has entered Stasis, this entry included.</param>
/// <param name="QueuesTimedOut">Queues the call timed out of in earlier entries.</param>
/// <param name="FallbacksTaken">How many earlier entries of the call were sent to the fallback.</param>
public sealed record StasisClaim(bool Claimed, int Entries, IReadOnlyList<int> QueuesTimedOut, int FallbacksTaken = 0)
{
    /// <summary>The entry already has an outcome: a redelivered <see cref="CallEnteredStasis"/>, nothing to do.</summary>
    public bool Decided { get; init; }

    /// <summary>When not claimed and not decided: the instance whose lease is still running.</summary>
    public string? HeldBy { get; init; }

    /// <summary>How long that lease still runs, by the database's clock.</summary>
    public TimeSpan LeaseLeft { get; init; }
}
