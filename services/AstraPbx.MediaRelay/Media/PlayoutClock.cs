using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Media;

/// <summary>Something the playout clock drives once per 20 ms tick (a session writing its next frame to Asterisk).
/// Called on the clock's loop: must not block. <paramref name="skippedTicks"/> is how many ticks the clock skipped
/// just before this one, after a stall (0 almost always).</summary>
internal interface IPlayoutTarget
{
    void OnTick(long tick, double latenessMs, int skippedTicks);
}

/// <summary>The one clock that paces every session's bot audio toward Asterisk (which does not pace what it receives,
/// PROTOCOLS.md 1): one schedule, not a timer per call. Ticks follow an absolute schedule (start + n x 20 ms), so a
/// late tick does not push the later ones back and there is no drift; after a stall longer than
/// <see cref="ResyncAfter"/> the schedule is rebased instead of bursting the missed frames at Asterisk.
/// <para>Sessions are spread over <em>lanes</em>, one thread each (<see cref="RelayOptions.PlayoutThreads"/>, default
/// one per processor), so the per-tick work of many calls is not capped by one core. Every lane follows the same
/// schedule, lane k offset by k/lanes of a period so their work is spread over the period rather than stacked at its
/// start. A new session joins the lane with the fewest.</para>
/// Driven by an injectable <see cref="TimeProvider"/> (keyed <see cref="TimeProviderKey"/>) so tests control time;
/// under a test clock every lane ticks from one loop at the period's start, so schedules are exact.</summary>
public sealed class PlayoutClock : BackgroundService
{
    /// <summary>DI key of the <see cref="TimeProvider"/> the clock runs on (default <see cref="TimeProvider.System"/>).</summary>
    public const string TimeProviderKey = "playout";

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

    private static readonly TimeSpan SpinWindow = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan ResyncLogInterval = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _time;
    private readonly ILogger<PlayoutClock> _logger;
    private readonly object _lock = new();
    private readonly List<(long Tick, TaskCompletionSource Done)> _waiters = [];
    private readonly Lane[] _lanes;
    private readonly Dictionary<IPlayoutTarget, Lane> _laneOf = new(ReferenceEqualityComparer.Instance);
    private long _ticks;
    private long _lateTicks;
    private long _resyncs;
    private double _maxLatenessMs;
    private long _lastResyncLog;
    private long _start;

    public PlayoutClock([FromKeyedServices(TimeProviderKey)] TimeProvider time, IOptions<RelayOptions> options, ILogger<PlayoutClock> logger)
    {
        _time = time;
        _logger = logger;
        var count = options.Value.PlayoutThreads > 0 ? options.Value.PlayoutThreads : Environment.ProcessorCount;
        _lanes = new Lane[Math.Max(1, count)];
        for (var i = 0; i < _lanes.Length; i++)
        {
            _lanes[i] = new Lane(i);
        }
    }

    /// <summary>Ticks completed by every lane since start.</summary>
    public long Ticks => Interlocked.Read(ref _ticks);

    /// <summary>Lane ticks that fired more than <see cref="LateThresholdMs"/> late.</summary>
    public long LateTicks => Interlocked.Read(ref _lateTicks);

    /// <summary>Times a lane's schedule was rebased after a stall.</summary>
    public long Resyncs => Interlocked.Read(ref _resyncs);

    /// <summary>The worst lateness seen, in milliseconds.</summary>
    public double MaxLatenessMs => Volatile.Read(ref _maxLatenessMs);

    /// <summary>The time the clock runs on.</summary>
    public TimeProvider Time => _time;

    /// <summary>Playout lanes (threads under the real clock).</summary>
    public int LaneCount => _lanes.Length;

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

    /// <summary>Completes once tick number <paramref name="tick"/> has been delivered to every session. For tests that
    /// drive a fake clock tick by tick.</summary>
    public Task WhenTicked(long tick)
    {
        lock (_lock)
        {
            if (Ticks >= tick)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((tick, done));
            return done.Task;
        }
    }

    /// <summary>The schedule starts here, before the host's start returns (ExecuteAsync runs later, on the thread
    /// pool): time that passes after start is always counted.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _start = _time.GetTimestamp();
        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var start = _start;
        if (_time != TimeProvider.System)
        {
            MediaRelayLog.ClockStarted(_logger, _lanes.Length, false);
            return RunOnTimeProviderAsync(start, stoppingToken);
        }

        // The real clock runs each lane on a thread of its own: a Task.Delay wake-up goes through the timer queue and
        // the thread pool, which fire a millisecond or more late on a busy machine, and every late tick delays every
        // session of the lane.
        var raised = 0;
        var threads = new Task[_lanes.Length];
        for (var i = 0; i < _lanes.Length; i++)
        {
            var lane = _lanes[i];
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                try
                {
                    if (ThreadNice.TryRaise())
                    {
                        Interlocked.Increment(ref raised);
                    }

                    RunOnDedicatedThread(lane, start, stoppingToken);
                    stopped.TrySetResult();
                }
                catch (Exception e)
                {
                    stopped.TrySetException(e);
                }
            })
            {
                IsBackground = true,
                Name = $"playout-{i}",
            };
            thread.Start();
            threads[i] = stopped.Task;
        }

        MediaRelayLog.ClockStarted(_logger, _lanes.Length, Volatile.Read(ref raised) > 0);
        return Task.WhenAll(threads);
    }

    /// <summary>Test clocks: wait with <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/> so that
    /// advancing the fake time drives the ticks; every lane ticks from this one loop.</summary>
    private async Task RunOnTimeProviderAsync(long start, CancellationToken stoppingToken)
    {
        // Leave the host's start path at once: the loop runs on the thread pool.
        await Task.Yield();
        var schedule = new Schedule(_time, start, offset: 0);
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = schedule.UntilNext();
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    // The delay's timer is due at "now + wait" as the time provider reads it when the timer is made:
                    // time advanced between reading wait and making the timer would push the tick one advance late,
                    // so look again once the timer exists.
                    var delay = Task.Delay(wait, _time, stoppingToken);
                    if (schedule.UntilNext() > TimeSpan.Zero)
                    {
                        await delay.ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            var (lateness, skipped) = OnDue(_lanes[0], ref schedule);
            foreach (var lane in _lanes)
            {
                TickLane(lane, schedule.Tick, lateness, skipped);
            }

            schedule.Advance();
        }
    }

    /// <summary>The real clock: on Linux the thread sleeps until the tick's absolute due time (clock_nanosleep on
    /// CLOCK_MONOTONIC, the clock Stopwatch reads), so it wakes within tens of microseconds and burns nothing while it
    /// waits. Elsewhere: sleep until about 2 ms before the tick, then yield until it is due.</summary>
    private void RunOnDedicatedThread(Lane lane, long start, CancellationToken stoppingToken)
    {
        var schedule = new Schedule(_time, start, offset: lane.Index * Period.Ticks / _lanes.Length);
        var precise = PreciseSleep.Available;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (precise)
            {
                PreciseSleep.Until(schedule.DueTimestamp);
            }
            else
            {
                var wait = schedule.UntilNext();
                if (wait > SpinWindow)
                {
                    Thread.Sleep(wait - SpinWindow);
                }
            }

            while (schedule.UntilNext() > TimeSpan.Zero)
            {
                Thread.Yield();
            }

            var (lateness, skipped) = OnDue(lane, ref schedule);
            TickLane(lane, schedule.Tick, lateness, skipped);
            schedule.Advance();
        }
    }

    /// <summary>How late the tick is; after a stall, rebases the schedule instead of catching up and says how many
    /// ticks that skipped.</summary>
    private (double LatenessMs, int Skipped) OnDue(Lane lane, ref Schedule schedule)
    {
        var lateness = schedule.Lateness();
        var skipped = 0;
        if (lateness > ResyncAfter)
        {
            // The process stalled: catching up would burst frames at Asterisk, which does not pace them.
            var resyncs = Interlocked.Increment(ref _resyncs);
            var now = _time.GetTimestamp();
            var last = Interlocked.Read(ref _lastResyncLog);
            if (last == 0 || _time.GetElapsedTime(last, now) > ResyncLogInterval)
            {
                Interlocked.Exchange(ref _lastResyncLog, now);
                MediaRelayLog.ClockResync(_logger, lane.Index, lateness.TotalMilliseconds, resyncs);
            }

            schedule.Rebase();
            skipped = (int)(lateness / Period);
        }

        return (lateness.TotalMilliseconds, skipped);
    }

    private void TickLane(Lane lane, long n, double latenessMs, int skippedTicks)
    {
        RelayTelemetry.TickLateness.Record(latenessMs);
        if (latenessMs > LateThresholdMs)
        {
            Interlocked.Increment(ref _lateTicks);
        }

        if (latenessMs > Volatile.Read(ref _maxLatenessMs))
        {
            Volatile.Write(ref _maxLatenessMs, latenessMs);
        }

        var targets = lane.Targets;
        for (var i = 0; i < targets.Length; i++)
        {
            targets[i].OnTick(n, latenessMs, skippedTicks);
        }

        Volatile.Write(ref lane.Completed, n);
        Completed();
    }

    /// <summary>Publishes the tick every lane has completed and releases its waiters.</summary>
    private void Completed()
    {
        var all = long.MaxValue;
        foreach (var lane in _lanes)
        {
            all = Math.Min(all, Volatile.Read(ref lane.Completed));
        }

        if (all <= Interlocked.Read(ref _ticks))
        {
            return;
        }

        // Under the lock WhenTicked takes, so a waiter added now is either released here or sees the new count.
        lock (_lock)
        {
            if (all <= _ticks)
            {
                return;
            }

            Interlocked.Exchange(ref _ticks, all);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Tick <= all)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private sealed class Lane(int index)
    {
        public readonly int Index = index;
        public volatile IPlayoutTarget[] Targets = [];
        public long Completed;
    }

    /// <summary>The absolute schedule: tick n is due at start + offset + n x 20 ms.</summary>
    private struct Schedule(TimeProvider time, long start, long offset)
    {
        private readonly long _period = Period.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond;
        private long _start = start + offset * time.TimestampFrequency / TimeSpan.TicksPerSecond;

        public long Tick { get; private set; } = 1;

        private readonly long Due => _start + Tick * _period;

        /// <summary>When the next tick is due, in <see cref="TimeProvider.GetTimestamp"/> units.</summary>
        public readonly long DueTimestamp => Due;

        public readonly TimeSpan UntilNext()
        {
            var now = time.GetTimestamp();
            return Due > now ? time.GetElapsedTime(now, Due) : TimeSpan.Zero;
        }

        public readonly TimeSpan Lateness() => time.GetElapsedTime(Due, time.GetTimestamp());

        public void Rebase() => _start = time.GetTimestamp() - Tick * _period;

        public void Advance() => Tick++;
    }

    /// <summary>Raises the calling thread's scheduling priority (nice -10) where the process may (root or
    /// CAP_SYS_NICE), so playout ticks win the CPU from bulk work when a machine is busy. Elsewhere it stays as is.</summary>
    private static class ThreadNice
    {
        private const int PrioProcess = 0;

        public static bool TryRaise()
        {
            if (!OperatingSystem.IsLinux())
            {
                return false;
            }

            try
            {
                return setpriority(PrioProcess, gettid(), -10) == 0;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return false;
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int setpriority(int which, int who, int prio);

        [DllImport("libc")]
        private static extern int gettid();
    }

    /// <summary>clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME): sleeps to an absolute Stopwatch timestamp (on Linux
    /// Stopwatch is CLOCK_MONOTONIC in nanoseconds).</summary>
    private static class PreciseSleep
    {
        private const int ClockMonotonic = 1;
        private const int TimerAbstime = 1;

        public static readonly bool Available = Probe();

        public static void Until(long timestamp)
        {
            var due = new Timespec { Seconds = timestamp / 1_000_000_000, Nanoseconds = timestamp % 1_000_000_000 };
            while (clock_nanosleep(ClockMonotonic, TimerAbstime, ref due, IntPtr.Zero) == 4)
            {
                // EINTR: a signal woke the thread early; sleep again to the same absolute time.
            }
        }

        private static bool Probe()
        {
            if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess || System.Diagnostics.Stopwatch.Frequency != 1_000_000_000)
            {
                return false;
            }

            try
            {
                var now = new Timespec();
                return clock_nanosleep(ClockMonotonic, TimerAbstime, ref now, IntPtr.Zero) == 0;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return false;
            }
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        [DllImport("libc")]
        private static extern int clock_nanosleep(int clock, int flags, ref Timespec request, IntPtr remain);
    }
}
