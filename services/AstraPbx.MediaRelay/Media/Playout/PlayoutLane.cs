namespace AstraPbx.MediaRelay.Media.Playout;

/// <summary>The sessions one lane of the clock ticks (one thread under the real clock). <see cref="Targets"/> is
/// replaced, never changed in place, so a tick walks it without a lock.</summary>
internal sealed class PlayoutLane(int index)
{
    public readonly int Index = index;
    public volatile IPlayoutTarget[] Targets = [];

    /// <summary>The last tick this lane delivered to all of its targets.</summary>
    public long Completed;
}
