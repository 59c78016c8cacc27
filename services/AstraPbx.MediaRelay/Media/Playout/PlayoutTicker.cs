using AstraPbx.MediaRelay.Io;

namespace AstraPbx.MediaRelay.Media.Playout;

/// <summary>The work of the clock's ticks, whichever driver waits for them: delivers a tick to every target of a lane,
/// counts lateness and resyncs, and publishes the tick every lane has completed.</summary>
public sealed class PlayoutTicker
{
    private static readonly TimeSpan ResyncLogInterval = TimeSpan.FromSeconds(10);

    private readonly PlayoutLane[] _lanes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly double _capacityLateMs;
    private long _ticks;
    private long _laneTicks;
    private long _lateTicks;
    private long _capacityLateTicks;
    private long _resyncs;
    private long _busy;
    private double _maxLatenessMs;
    private long _lastResyncLog;

    internal PlayoutTicker(PlayoutLane[] lanes, TimeProvider time, ILogger logger, double capacityLateMs = 4)
    {
        _capacityLateMs = capacityLateMs;
        _lanes = lanes;
        _time = time;
        _logger = logger;
    }

    /// <summary>Playout lanes.</summary>
    public int LaneCount => _lanes.Length;

    /// <summary>Ticks completed by every lane since start.</summary>
    public long Ticks => Interlocked.Read(ref _ticks);

    /// <summary>Lane ticks that fired more than <see cref="PlayoutClock.LateThresholdMs"/> late.</summary>
    public long LateTicks => Interlocked.Read(ref _lateTicks);

    /// <summary>Ticks delivered, counted per lane (the denominator of the late ratios).</summary>
    public long LaneTicks => Interlocked.Read(ref _laneTicks);

    /// <summary>Lane ticks later than the capacity threshold (<c>Relay:Capacity:LateTickMs</c>): the relay's own measure of
    /// whether it is keeping up, read by the capacity monitor.</summary>
    public long CapacityLateTicks => Interlocked.Read(ref _capacityLateTicks);

    /// <summary>Time the lanes' ticks took, summed over the lanes (on the driver's clock): the CPU the sessions' steady work
    /// costs, read by the capacity monitor. Wall time, so a tick preempted on a busy host counts more than it used.</summary>
    public TimeSpan Busy => TimeSpan.FromSeconds((double)Interlocked.Read(ref _busy) / _time.TimestampFrequency);

    /// <summary>Times a lane's schedule was rebased after a stall.</summary>
    public long Resyncs => Interlocked.Read(ref _resyncs);

    /// <summary>The worst lateness seen, in milliseconds.</summary>
    public double MaxLatenessMs => Volatile.Read(ref _maxLatenessMs);

    /// <summary>Lane <paramref name="lane"/> alone on the schedule that began at <paramref name="start"/>, offset by
    /// lane/lanes of a period, so the lanes' work is spread over the period rather than stacked at its start.</summary>
    public PlayoutLoop LoopForLane(int lane, long start) =>
        new(this, _time, [_lanes[lane]], start, offsetTicks: lane * PlayoutClock.Period.Ticks / _lanes.Length);

    /// <summary>Every lane from one loop at the period's start: one tick reaches every session at the same time.</summary>
    public PlayoutLoop LoopForAllLanes(long start) => new(this, _time, _lanes, start, offsetTicks: 0);

    internal void CountResync(int lane, TimeSpan lateness)
    {
        var resyncs = Interlocked.Increment(ref _resyncs);
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastResyncLog);
        if (last == 0 || _time.GetElapsedTime(last, now) > ResyncLogInterval)
        {
            Interlocked.Exchange(ref _lastResyncLog, now);
            MediaRelayLog.ClockResync(_logger, lane, lateness.TotalMilliseconds, resyncs);
        }
    }

    internal void TickLane(PlayoutLane lane, long n, double latenessMs, int skippedTicks)
    {
        var began = _time.GetTimestamp();
        RelayTelemetry.TickLateness.Record(latenessMs);
        Interlocked.Increment(ref _laneTicks);
        if (latenessMs > PlayoutClock.LateThresholdMs)
        {
            Interlocked.Increment(ref _lateTicks);
        }

        if (latenessMs > _capacityLateMs)
        {
            Interlocked.Increment(ref _capacityLateTicks);
        }

        if (latenessMs > Volatile.Read(ref _maxLatenessMs))
        {
            Volatile.Write(ref _maxLatenessMs, latenessMs);
        }

        var targets = lane.Targets;
        for (var i = 0; i < targets.Length; i++)
        {
            targets[i].ReadBot();
        }

        for (var i = 0; i < targets.Length; i++)
        {
            targets[i].OnTick(n, latenessMs, skippedTicks);
        }

        // The caller pass forwards each frame it reads to its bot: with the writes held to the pass's end (SendPass), the
        // lane's uplink leaves in one run of sends after the reads.
        SendPass.Begin();
        try
        {
            for (var i = 0; i < targets.Length; i++)
            {
                targets[i].ReadCaller();
            }
        }
        finally
        {
            SendPass.End();
        }

        Volatile.Write(ref lane.Completed, n);
        Interlocked.Add(ref _busy, _time.GetTimestamp() - began);
        Completed();
    }

    /// <summary>Publishes the tick every lane has completed (only ever forward, whichever lane gets here first).</summary>
    private void Completed()
    {
        var all = long.MaxValue;
        foreach (var lane in _lanes)
        {
            all = Math.Min(all, Volatile.Read(ref lane.Completed));
        }

        var published = Interlocked.Read(ref _ticks);
        while (all > published)
        {
            var seen = Interlocked.CompareExchange(ref _ticks, all, published);
            if (seen == published)
            {
                return;
            }

            published = seen;
        }
    }
}
