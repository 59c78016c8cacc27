namespace AstraPbx.MediaRelay.Media.Playout;

/// <summary>One loop of the clock's absolute schedule: tick n is due at start + offset + n x 20 ms, and once it is due
/// the loop delivers it to every target of its lanes. A driver waits for <see cref="DueTimestamp"/> and calls
/// <see cref="RunDue"/>; a late tick does not push the later ones back, and after a stall longer than
/// <see cref="PlayoutClock.ResyncAfter"/> the schedule is rebased instead of bursting the missed frames at Asterisk.</summary>
public sealed class PlayoutLoop
{
    private readonly PlayoutTicker _ticker;
    private readonly TimeProvider _time;
    private readonly PlayoutLane[] _lanes;
    private readonly long _period;
    private long _start;

    internal PlayoutLoop(PlayoutTicker ticker, TimeProvider time, PlayoutLane[] lanes, long start, long offsetTicks)
    {
        _ticker = ticker;
        _time = time;
        _lanes = lanes;
        _period = PlayoutClock.Period.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond;
        _start = start + offsetTicks * time.TimestampFrequency / TimeSpan.TicksPerSecond;
    }

    /// <summary>The number of the next tick.</summary>
    public long Tick { get; private set; } = 1;

    /// <summary>When the next tick is due, in <see cref="TimeProvider.GetTimestamp"/> units.</summary>
    public long DueTimestamp => _start + Tick * _period;

    /// <summary>How long until the next tick is due (zero once it is).</summary>
    public TimeSpan UntilNext()
    {
        var now = _time.GetTimestamp();
        var due = DueTimestamp;
        return due > now ? _time.GetElapsedTime(now, due) : TimeSpan.Zero;
    }

    /// <summary>The next tick is due: measures how late it is, rebases the schedule after a stall (saying how many
    /// ticks that skipped), delivers the tick to every lane, and moves on to the next.</summary>
    public void RunDue()
    {
        var lateness = _time.GetElapsedTime(DueTimestamp, _time.GetTimestamp());
        var skipped = 0;
        if (lateness > PlayoutClock.ResyncAfter)
        {
            // The process stalled: catching up would burst frames at Asterisk, which does not pace them.
            _ticker.CountResync(_lanes[0].Index, lateness);
            _start = _time.GetTimestamp() - Tick * _period;
            skipped = (int)(lateness / PlayoutClock.Period);
        }

        var latenessMs = lateness.TotalMilliseconds;
        foreach (var lane in _lanes)
        {
            _ticker.TickLane(lane, Tick, latenessMs, skipped);
        }

        Tick++;
    }
}
