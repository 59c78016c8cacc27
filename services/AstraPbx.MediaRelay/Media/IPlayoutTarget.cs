namespace AstraPbx.MediaRelay.Media;

/// <summary>Something the playout clock drives once per 20 ms tick (a session writing its next frame to Asterisk).
/// Called on the clock's loop: must not block. <paramref name="skippedTicks"/> is how many ticks the clock skipped
/// just before this one, after a stall (0 almost always).</summary>
internal interface IPlayoutTarget
{
    void OnTick(long tick, double latenessMs, int skippedTicks);
}
