namespace AstraPbx.Fuzz.Relay;

/// <summary>What the fuzz over the real relay's sockets did, and how the parallel call fared meanwhile.</summary>
public sealed record RelayFuzzResult(TimeSpan Elapsed, long Connections, long Sessions, long BotMessages, int ConnectionCrashes, int SessionCrashes,
    IReadOnlyDictionary<string, long> Reasons, IReadOnlyDictionary<string, long> Refusals, IReadOnlyList<string> Failures, IReadOnlyList<string> Findings, ParallelCallResult Call);
