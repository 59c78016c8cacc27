using AstraPbx.Contracts.Calls;

namespace AstraPbx.Routing.CallRecords;

/// <summary>The outcome of claiming one Stasis entry of a call.</summary>
/// <param name="Claimed">False when this entry was claimed before (a redelivered <see cref="CallEnteredStasis"/>).</param>
/// <param name="Entries">How many times the channel has entered Stasis, this entry included.</param>
/// <param name="QueuesTimedOut">Queues the call timed out of in earlier entries.</param>
/// <param name="FallbacksTaken">How many earlier entries of the call were sent to the fallback.</param>
public sealed record StasisClaim(bool Claimed, int Entries, IReadOnlyList<int> QueuesTimedOut, int FallbacksTaken = 0);
