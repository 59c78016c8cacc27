namespace AstraPbx.LoadTool;

/// <summary>Histograms shared by all calls.</summary>
internal sealed class LoadStats
{
    /// <summary>Gaps between consecutive audio frames arriving at each caller.</summary>
    public Histogram Spacing { get; } = new();

    /// <summary>Caller -> relay -> echo gateway -> relay -> caller, per frame.</summary>
    public Histogram RoundTrip { get; } = new();

    /// <summary>Round trip minus the call's own smallest round trip (its fixed playout delay and tick phase).</summary>
    public Histogram AddedRoundTrip { get; } = new();

    /// <summary>Round trip beyond the relay's intended playout delay: the jitter target plus one 20 ms tick (the
    /// longest a frame waits for the tick grid); 0 when within it.</summary>
    public Histogram BeyondIntended { get; } = new();
}
