namespace AstraPbx.MediaRelay.Media;

/// <summary>Something the playout clock drives once per 20 ms tick (a session writing its next frame to Asterisk).
/// Called on the clock's loop: must not block. <paramref name="skippedTicks"/> is how many ticks the clock skipped
/// just before this one, after a stall (0 almost always).
/// <para>A tick runs in three passes over a lane's targets: <see cref="ReadBot"/> for all, <see cref="OnTick"/> for all,
/// <see cref="ReadCaller"/> for all. The frames to Asterisk then leave in one tight pass whose timing does not depend on
/// how much audio each session read this tick (spacing), while bot audio read in the tick still plays in it and caller
/// audio still reaches the bot within it (delay).</para></summary>
internal interface IPlayoutTarget
{
    /// <summary>First pass: the session's bot audio in (a ticked gateway read), before any frame is written.</summary>
    void ReadBot()
    {
    }

    void OnTick(long tick, double latenessMs, int skippedTicks);

    /// <summary>Last pass: the session's caller audio in and on to the bot (a ticked AudioSocket read).</summary>
    void ReadCaller()
    {
    }
}
