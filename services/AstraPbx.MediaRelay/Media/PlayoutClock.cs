namespace AstraPbx.MediaRelay.Media;

/// <summary>Something the playout clock drives once per 20 ms tick (a session writing its next frame to Asterisk).
/// Called on the clock's loop: must not block.</summary>
internal interface IPlayoutTarget
{
    void OnTick(long tick, double latenessMs);
}

/// <summary>The one clock that paces every session's bot audio toward Asterisk (which does not pace what it receives,
/// PROTOCOLS.md 1): a single loop, not a timer per call. Ticks follow an absolute schedule (start + n x 20 ms), so a
/// late tick does not push the later ones back and there is no drift; after a stall longer than
/// <see cref="ResyncAfter"/> the schedule is rebased instead of bursting the missed frames at Asterisk.
/// Driven by an injectable <see cref="TimeProvider"/> (keyed <see cref="TimeProviderKey"/>) so tests control time.</summary>
public sealed class PlayoutClock : BackgroundService
{
    /// <summary>DI key of the <see cref="TimeProvider"/> the clock runs on (default <see cref="TimeProvider.System"/>).</summary>
    public const string TimeProviderKey = "playout";

    /// <summary>One AudioSocket frame.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(20);

    /// <summary>A tick later than this is counted late (per session and relay-wide).</summary>
    public const double LateThresholdMs = 2;

    /// <summary>Beyond this lateness the missed ticks are skipped, not caught up: Asterisk does not pace what it
    /// receives (PROTOCOLS.md 1), so catching up sends frames back to back, and more than a few of them are lost on the
    /// far leg. Sessions give the skipped time back through their jitter buffer's drift correction.</summary>
    public static readonly TimeSpan ResyncAfter = TimeSpan.FromMilliseconds(60);

    private readonly TimeProvider _time;
    private readonly ILogger<PlayoutClock> _logger;
    private readonly object _lock = new();
    private readonly List<(long Tick, TaskCompletionSource Done)> _waiters = [];
    private IPlayoutTarget[] _targets = [];
    private long _ticks;
    private long _lateTicks;
    private long _resyncs;
    private double _maxLatenessMs;

    public PlayoutClock([FromKeyedServices(TimeProviderKey)] TimeProvider time, ILogger<PlayoutClock> logger)
    {
        _time = time;
        _logger = logger;
    }

    /// <summary>Ticks completed since start.</summary>
    public long Ticks => Interlocked.Read(ref _ticks);

    /// <summary>Ticks that fired more than <see cref="LateThresholdMs"/> late.</summary>
    public long LateTicks => Interlocked.Read(ref _lateTicks);

    /// <summary>Times the schedule was rebased after a stall.</summary>
    public long Resyncs => Interlocked.Read(ref _resyncs);

    /// <summary>The worst lateness seen, in milliseconds.</summary>
    public double MaxLatenessMs => Volatile.Read(ref _maxLatenessMs);

    /// <summary>The time the clock runs on.</summary>
    public TimeProvider Time => _time;

    /// <summary>Sessions currently driven.</summary>
    public int TargetCount => Volatile.Read(ref _targets).Length;

    internal void Add(IPlayoutTarget target)
    {
        lock (_lock)
        {
            _targets = [.. _targets, target];
        }
    }

    internal void Remove(IPlayoutTarget target)
    {
        lock (_lock)
        {
            var index = Array.IndexOf(_targets, target);
            if (index < 0)
            {
                return;
            }

            var copy = new IPlayoutTarget[_targets.Length - 1];
            Array.Copy(_targets, 0, copy, 0, index);
            Array.Copy(_targets, index + 1, copy, index, copy.Length - index);
            _targets = copy;
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

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_time != TimeProvider.System)
        {
            return RunOnTimeProviderAsync(stoppingToken);
        }

        // The real clock runs on a thread of its own: a Task.Delay wake-up goes through the timer queue and the thread
        // pool, which fire a millisecond or more late on a busy machine, and every late tick delays every session.
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                RunOnDedicatedThread(stoppingToken);
                stopped.TrySetResult();
            }
            catch (Exception e)
            {
                stopped.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "playout-clock",
            Priority = ThreadPriority.Highest,
        };
        thread.Start();
        return stopped.Task;
    }

    /// <summary>Test clocks: wait with <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/> so that
    /// advancing the fake time drives the ticks.</summary>
    private async Task RunOnTimeProviderAsync(CancellationToken stoppingToken)
    {
        // Leave the host's start path at once: the loop runs on the thread pool.
        await Task.Yield();
        var schedule = new Schedule(_time);
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = schedule.UntilNext();
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, _time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            OnDue(ref schedule);
        }
    }

    /// <summary>The real clock: sleep until about 2 ms before the tick is due, then yield until it is, so ticks fire
    /// within a fraction of a millisecond (the cost is at most ~2 ms of yielding per 20 ms, on one thread).</summary>
    private void RunOnDedicatedThread(CancellationToken stoppingToken)
    {
        var schedule = new Schedule(_time);
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = schedule.UntilNext();
            if (wait > SpinWindow)
            {
                Thread.Sleep(wait - SpinWindow);
            }

            while (schedule.UntilNext() > TimeSpan.Zero)
            {
                Thread.Yield();
            }

            OnDue(ref schedule);
        }
    }

    private static readonly TimeSpan SpinWindow = TimeSpan.FromMilliseconds(2);

    private void OnDue(ref Schedule schedule)
    {
        var lateness = schedule.Lateness();
        if (lateness > ResyncAfter)
        {
            // The process stalled: catching up would burst frames at Asterisk, which does not pace them.
            Interlocked.Increment(ref _resyncs);
            MediaRelayLog.ClockResync(_logger, lateness.TotalMilliseconds);
            schedule.Rebase();
        }

        Tick(schedule.Tick, lateness.TotalMilliseconds);
        schedule.Advance();
    }

    /// <summary>The absolute schedule: tick n is due at start + n x 20 ms.</summary>
    private struct Schedule(TimeProvider time)
    {
        private readonly long _period = Period.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond;
        private long _start = time.GetTimestamp();

        public long Tick { get; private set; } = 1;

        private readonly long Due => _start + Tick * _period;

        public readonly TimeSpan UntilNext()
        {
            var now = time.GetTimestamp();
            return Due > now ? time.GetElapsedTime(now, Due) : TimeSpan.Zero;
        }

        public readonly TimeSpan Lateness() => time.GetElapsedTime(Due, time.GetTimestamp());

        public void Rebase() => _start = time.GetTimestamp() - Tick * _period;

        public void Advance() => Tick++;
    }

    private void Tick(long n, double latenessMs)
    {
        RelayTelemetry.TickLateness.Record(latenessMs);
        if (latenessMs > LateThresholdMs)
        {
            Interlocked.Increment(ref _lateTicks);
        }

        if (latenessMs > _maxLatenessMs)
        {
            Volatile.Write(ref _maxLatenessMs, latenessMs);
        }

        var targets = Volatile.Read(ref _targets);
        for (var i = 0; i < targets.Length; i++)
        {
            targets[i].OnTick(n, latenessMs);
        }

        // Under the lock WhenTicked takes, so a waiter added now is either released here or sees the new count.
        lock (_lock)
        {
            Interlocked.Exchange(ref _ticks, n);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Tick <= n)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}
