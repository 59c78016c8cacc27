using AstraPbx.Contracts.Media;

namespace AstraPbx.Routing.Orchestration;

/// <summary>What asking the relays for an AI session came to.</summary>
/// <param name="Ready">The relay's answer when a session was prepared; null when every attempt failed.</param>
/// <param name="Attempts">Requests sent.</param>
/// <param name="RelayTime">Time spent waiting for relays (kept out of the decision-time metric).</param>
/// <param name="Failure">The last failure's kebab-case name, e.g. <c>timeout</c> or <c>no-time-left</c>.</param>
public sealed record AiSessionAttempts(AiSessionReady? Ready, int Attempts, TimeSpan RelayTime, string Failure)
{
    public static readonly AiSessionAttempts None = new(null, 0, TimeSpan.Zero, "");
}
