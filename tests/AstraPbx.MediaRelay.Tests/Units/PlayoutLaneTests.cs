using System.Collections.Concurrent;
using System.Diagnostics;
using AstraPbx.MediaRelay.Io;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Media.Playout;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The playout clock spreads sessions over lanes (one thread each under the real clock), all on one schedule.</summary>
public sealed class PlayoutLaneTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public void Sessions_join_the_lane_with_the_fewest()
    {
        var clock = Clock(new TestPlayoutDriver(new FakeTimeProvider()), lanes: 3);
        var targets = Enumerable.Range(0, 7).Select(_ => new RecordingTarget()).ToArray();
        foreach (var target in targets)
        {
            clock.Add(target);
        }

        Assert.Equal([2, 2, 3], clock.LaneLoads.Order());
        Assert.Equal(7, clock.TargetCount);

        // Targets 0 and 3 were both added to lane 0 (round robin while loads are equal); the next two go there.
        clock.Remove(targets[0]);
        clock.Remove(targets[3]);
        clock.Remove(targets[3]);
        Assert.Equal([1, 2, 2], clock.LaneLoads.Order());
        clock.Add(new RecordingTarget());
        clock.Add(new RecordingTarget());
        Assert.Equal([2, 2, 3], clock.LaneLoads.Order());
        Assert.Equal(7, clock.TargetCount);
    }

    [Fact]
    public async Task Under_a_test_clock_every_lane_ticks_every_session_once_per_period()
    {
        var time = new FakeTimeProvider();
        var driver = new TestPlayoutDriver(time);
        var clock = Clock(driver, lanes: 2);
        var targets = Enumerable.Range(0, 5).Select(_ => new RecordingTarget()).ToArray();
        foreach (var target in targets)
        {
            clock.Add(target);
        }

        await RunTicksAsync(clock, driver, time, 10);

        foreach (var target in targets)
        {
            Assert.Equal(Enumerable.Range(1, 10).Select(n => (long)n), target.Ticks.Take(10));
        }
    }

    [Fact]
    public async Task A_tick_reads_every_bot_then_writes_every_frame_then_reads_every_caller()
    {
        var time = new FakeTimeProvider();
        var driver = new TestPlayoutDriver(time);
        var clock = Clock(driver, lanes: 1);
        var calls = new ConcurrentQueue<string>();
        var targets = new[] { new PassTarget("a", calls), new PassTarget("b", calls) };
        foreach (var target in targets)
        {
            clock.Add(target);
        }

        await clock.StartAsync(CancellationToken.None);
        try
        {
            time.Advance(PlayoutClock.Period);
            await driver.WhenTicked(1).Within(Long, "tick 1");
        }
        finally
        {
            await clock.StopAsync(CancellationToken.None);
        }

        // The frames leave in one pass after all reads of bot audio, and caller audio is read after every frame is out; the
        // caller pass's sends to the bots are held for its end (SendPass), the other passes' are not.
        Assert.Equal(["bot a", "bot b", "tick a", "tick b", "caller a (sends held)", "caller b (sends held)"], calls.Take(6));
    }

    [Fact]
    public async Task Under_the_real_clock_each_lane_runs_on_its_own_thread()
    {
        var clock = Clock(new ThreadPlayoutDriver(), lanes: 2);
        var targets = Enumerable.Range(0, 4).Select(_ => new RecordingTarget()).ToArray();
        foreach (var target in targets)
        {
            clock.Add(target);
        }

        await clock.StartAsync(CancellationToken.None);
        try
        {
            await Wait.Until(() => clock.Ticks >= 25, "25 ticks on every lane", (int)Long.TotalSeconds);
        }
        finally
        {
            await clock.StopAsync(CancellationToken.None);
        }

        Assert.Equal(2, clock.LaneCount);
        Assert.Equal(["playout-0", "playout-1"], targets.SelectMany(t => t.Threads).Distinct().Order());
        foreach (var target in targets)
        {
            var ticks = target.Ticks.ToArray();
            Assert.True(ticks.Length >= 25, $"{ticks.Length} ticks");
            Assert.Equal(Enumerable.Range(1, ticks.Length).Select(n => (long)n), ticks);
            Assert.Single(target.Threads.Distinct());
        }
    }

    [Fact]
    public void On_linux_the_real_clock_sleeps_to_the_absolute_due_time_with_clock_nanosleep()
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
        {
            return;
        }

        Assert.True(PreciseSleep.Available, "clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) through libc");
        var due = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 100;
        PreciseSleep.Until(due);
        Assert.True(Stopwatch.GetTimestamp() >= due, "woke before the due time");
    }

    [Fact]
    public async Task The_time_the_ticks_take_is_counted_for_the_capacity_monitor()
    {
        // One session's tick takes 3 ms (it moves the test clock), the other's nothing: five ticks took 15 ms.
        var time = new FakeTimeProvider();
        var driver = new TestPlayoutDriver(time);
        var clock = Clock(driver, lanes: 2);
        clock.Add(new RecordingTarget());
        clock.Add(new SlowTarget(time, TimeSpan.FromMilliseconds(3)));
        await RunTicksAsync(clock, driver, time, 5);

        Assert.Equal(TimeSpan.FromMilliseconds(15), clock.TickBusy);
    }

    /// <summary>Starts the clock, advances the test time one period at a time until <paramref name="ticks"/> ticks have
    /// reached every session, and stops it.</summary>
    private static async Task RunTicksAsync(PlayoutClock clock, TestPlayoutDriver driver, FakeTimeProvider time, int ticks)
    {
        await clock.StartAsync(CancellationToken.None);
        try
        {
            for (var tick = 1; tick <= ticks; tick++)
            {
                time.Advance(PlayoutClock.Period);
                await driver.WhenTicked(tick).Within(Long, $"tick {tick}");
            }
        }
        finally
        {
            await clock.StopAsync(CancellationToken.None);
        }
    }

    private static PlayoutClock Clock(IPlayoutDriver driver, int lanes) =>
        new(driver, Options.Create(new RelayOptions { PlayoutThreads = lanes }), Options.Create(new AstraPbx.MediaRelay.Capacity.CapacityOptions()), NullLogger<PlayoutClock>.Instance);

    private sealed class PassTarget(string name, ConcurrentQueue<string> calls) : IPlayoutTarget
    {
        public void ReadBot() => calls.Enqueue("bot " + name + Held);

        public void OnTick(long tick, double latenessMs, int skippedTicks) => calls.Enqueue("tick " + name + Held);

        public void ReadCaller() => calls.Enqueue("caller " + name + Held);

        /// <summary>Whether the tick's thread holds socket writes for the pass's end now.</summary>
        private static string Held => SendPass.IsOpen ? " (sends held)" : "";
    }

    private sealed class SlowTarget(FakeTimeProvider time, TimeSpan takes) : IPlayoutTarget
    {
        public void OnTick(long tick, double latenessMs, int skippedTicks) => time.Advance(takes);
    }

    private sealed class RecordingTarget : IPlayoutTarget
    {
        public ConcurrentQueue<long> Ticks { get; } = new();

        public ConcurrentQueue<string> Threads { get; } = new();

        public void OnTick(long tick, double latenessMs, int skippedTicks)
        {
            Ticks.Enqueue(tick);
            Threads.Enqueue(Thread.CurrentThread.Name ?? "");
        }
    }
}
