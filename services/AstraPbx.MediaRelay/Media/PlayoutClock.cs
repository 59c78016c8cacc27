using AstraPbx.MediaRelay.Media.Playout;
using AstraPbx.MediaRelay.Capacity;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Media;

/// <summary>The one clock that paces every session's bot audio toward Asterisk (which does not pace what it receives,
/// PROTOCOLS.md 1): one schedule, not a timer per call. Ticks follow an absolute schedule (start + n x 20 ms), so a
/// late tick does not push the later ones back and there is no drift; after a stall longer than
/// <see cref="ResyncAfter"/> the schedule is rebased instead of bursting the missed frames at Asterisk.
/// <para>Sessions are spread over <em>lanes</em>, one thread each (<see cref="RelayOptions.PlayoutThreads"/>, default
/// one per processor), so the per-tick work of many calls is not capped by one core. Every lane follows the same
/// schedule, lane k offset by k/lanes of a period so their work is spread over the period rather than stacked at its
/// start. A new session joins the lane with the fewest.</para>
/// The work of a tick is <see cref="PlayoutTicker"/>'s; what waits for the due times is the
/// <see cref="IPlayoutDriver"/> (in the relay, <see cref="ThreadPlayoutDriver"/>).</summary>
public sealed class PlayoutClock : BackgroundService
{
    /// <summary>One AudioSocket frame.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(20);

    /// <summary>A tick later than this is counted late (per session and relay-wide).</summary>
    public const double LateThresholdMs = 2;

    /// <summary>Beyond this lateness (one and a half periods) the missed ticks are skipped, not caught up: Asterisk
    /// does not pace what it receives (PROTOCOLS.md 1), so catching up sends frames back to back, and more than a few
    /// of them are lost on the far leg; and after a stall of the whole process the caught-up ticks drain the buffers
    /// just before the audio held up by the same stall arrives, which then sits in them as extra delay. Skipped ticks
    /// are owed back by each session's drift correction instead. At most two frames ever leave back to back.</summary>
    public static readonly TimeSpan ResyncAfter = TimeSpan.FromMilliseconds(30);

    private readonly IPlayoutDriver _driver;
    private readonly ILogger<PlayoutClock> _logger;
    private readonly object _lock = new();
    private readonly PlayoutLane[] _lanes;
    private readonly PlayoutTicker _ticker;
    private readonly Dictionary<IPlayoutTarget, PlayoutLane> _laneOf = new(ReferenceEqualityComparer.Instance);
    private long _start;

    public PlayoutClock(IPlayoutDriver driver, IOptions<RelayOptions> options, IOptions<CapacityOptions> capacity, ILogger<PlayoutClock> logger)
    {
        _driver = driver;
        _logger = logger;
        var count = options.Value.PlayoutThreads > 0 ? options.Value.PlayoutThreads : Environment.ProcessorCount;
        _lanes = new PlayoutLane[Math.Max(1, count)];
        for (var i = 0; i < _lanes.Length; i++)
        {
            _lanes[i] = new PlayoutLane(i);
        }

        _ticker = new PlayoutTicker(_lanes, driver.Time, logger, capacity.Value.LateTickMs);
    }

    /// <summary>Ticks completed by every lane since start.</summary>
    public long Ticks => _ticker.Ticks;

    /// <summary>Lane ticks that fired more than <see cref="LateThresholdMs"/> late.</summary>
    public long LateTicks => _ticker.LateTicks;

    /// <summary>Times a lane's schedule was rebased after a stall.</summary>
    public long Resyncs => _ticker.Resyncs;

    /// <summary>Ticks delivered, counted per lane.</summary>
    public long LaneTicks => _ticker.LaneTicks;

    /// <summary>Time the lanes' ticks took, summed over the lanes: the sessions' steady cost (the capacity monitor's
    /// measure of one session).</summary>
    public TimeSpan TickBusy => _ticker.Busy;

    /// <summary>Lane ticks later than <see cref="CapacityOptions.LateTickMs"/>.</summary>
    public long CapacityLateTicks => _ticker.CapacityLateTicks;

    /// <summary>The worst lateness seen, in milliseconds.</summary>
    public double MaxLatenessMs => _ticker.MaxLatenessMs;

    /// <summary>Playout lanes (threads under the real clock).</summary>
    public int LaneCount => _lanes.Length;

    /// <summary>Whether the ticks follow the system's time (the relay's driver), so that a session added now is ticked
    /// without anyone advancing a clock; false under a test's fake time, whose ticks come only when the test advances it.</summary>
    public bool InRealTime => _driver.Time == TimeProvider.System;

    /// <summary>Sessions currently driven.</summary>
    public int TargetCount
    {
        get
        {
            lock (_lock)
            {
                return _laneOf.Count;
            }
        }
    }

    /// <summary>Sessions on each lane.</summary>
    public int[] LaneLoads
    {
        get
        {
            lock (_lock)
            {
                return Array.ConvertAll(_lanes, lane => lane.Targets.Length);
            }
        }
    }

    internal void Add(IPlayoutTarget target)
    {
        lock (_lock)
        {
            if (_laneOf.ContainsKey(target))
            {
                return;
            }

            var lane = _lanes[0];
            foreach (var candidate in _lanes)
            {
                if (candidate.Targets.Length < lane.Targets.Length)
                {
                    lane = candidate;
                }
            }

            lane.Targets = [.. lane.Targets, target];
            _laneOf[target] = lane;
        }
    }

    internal void Remove(IPlayoutTarget target)
    {
        lock (_lock)
        {
            if (!_laneOf.Remove(target, out var lane))
            {
                return;
            }

            var targets = lane.Targets;
            var index = Array.IndexOf(targets, target);
            var copy = new IPlayoutTarget[targets.Length - 1];
            Array.Copy(targets, 0, copy, 0, index);
            Array.Copy(targets, index + 1, copy, index, copy.Length - index);
            lane.Targets = copy;
        }
    }

    /// <summary>The schedule starts here, before the host's start returns (ExecuteAsync runs later, on the thread
    /// pool): time that passes after start is always counted.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _start = _driver.Time.GetTimestamp();
        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var running = _driver.RunAsync(_ticker, _start, stoppingToken);
        MediaRelayLog.ClockStarted(_logger, _lanes.Length, _driver.PriorityRaised);
        return running;
    }
}
