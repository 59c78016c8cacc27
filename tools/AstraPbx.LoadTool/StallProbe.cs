using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using AstraPbx.Simulators.AudioSocket;

namespace AstraPbx.LoadTool;

/// <summary><c>--probe-stalls SECONDS</c>: how often this machine holds up a thread that has a core to itself. One thread
/// per core, pinned there and at SCHED_FIFO where the tool may, sleeps 1 ms at a time and notes every wake-up later than
/// the threshold; then how many of those stalls overlapped one on every other core (the whole machine held up at once:
/// the hypervisor, not a process). Run on an otherwise idle machine, before a load run: a relay's tick cannot be more
/// punctual than this. Bounded by its duration; sends nothing anywhere.</summary>
internal static partial class StallProbe
{
    /// <summary>One late wake-up: when it was due and when it came (<see cref="Stopwatch"/> time stamps).</summary>
    internal readonly record struct Stall(long Due, long Woke)
    {
        public double LateMs => (Woke - Due) * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>One core's wake-ups: how many, whether at SCHED_FIFO, and the late ones.</summary>
    internal sealed record CoreStalls(int Core, long Wakeups, bool Realtime, IReadOnlyList<Stall> Stalls);

    public static async Task<int> RunAsync(double seconds, double thresholdMs)
    {
        var cores = Enumerable.Range(0, Environment.ProcessorCount).ToArray();
        var duration = TimeSpan.FromSeconds(seconds);
        var threshold = (long)(thresholdMs * Stopwatch.Frequency / 1000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"stall probe: {cores.Length} cores, a thread each sleeping 1 ms for {seconds:0.#} s; stalls: wake-ups over {thresholdMs:0.#} ms late"));
        var results = await Task.WhenAll(cores.Select(core => RunCoreAsync(core, duration, threshold))).ConfigureAwait(false);
        foreach (var r in results)
        {
            var worst = r.Stalls.Count == 0 ? 0 : r.Stalls.Max(s => s.LateMs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"core {r.Core}: {r.Wakeups} wake-ups, SCHED_FIFO {(r.Realtime ? "yes" : "no")}; stalls {r.Stalls.Count} ({r.Stalls.Count / seconds * 60:0.0} a minute), worst {worst:0.0} ms"));
        }

        var together = Coincident(results.Select(r => r.Stalls).ToList());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"stalls on every core at once: {together.Count}{(together.Count == 0 ? "" : $", lasting {string.Join(", ", together.Select(t => t.ToString("0.0", CultureInfo.InvariantCulture)))} ms")}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"summary: stall_probe seconds={seconds:0.#} threshold_ms={thresholdMs:0.#} {string.Join(' ', results.Select(r => $"core{r.Core}_stalls={r.Stalls.Count}"))} together={together.Count}"));
        return 0;
    }

    /// <summary>The stalls of the first core that overlapped a stall on every other core, as the length (ms) of the
    /// time all of them were held up together.</summary>
    internal static IReadOnlyList<double> Coincident(IReadOnlyList<IReadOnlyList<Stall>> perCore)
    {
        var found = new List<double>();
        if (perCore.Count == 0)
        {
            return found;
        }

        foreach (var stall in perCore[0])
        {
            var (from, to) = (stall.Due, stall.Woke);
            foreach (var other in perCore.Skip(1))
            {
                var overlap = other.Where(o => o.Due < to && from < o.Woke).Select(o => (Math.Max(from, o.Due), Math.Min(to, o.Woke))).ToList();
                if (overlap.Count == 0)
                {
                    from = to;
                    break;
                }

                (from, to) = (overlap.Min(o => o.Item1), overlap.Max(o => o.Item2));
            }

            if (from < to)
            {
                found.Add((to - from) * 1000.0 / Stopwatch.Frequency);
            }
        }

        return found;
    }

    private static Task<CoreStalls> RunCoreAsync(int core, TimeSpan duration, long threshold)
    {
        var done = new TaskCompletionSource<CoreStalls>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Pin(core);
                var realtime = RealtimeThread.TrySet();
                var stalls = new List<Stall>();
                var oneMs = Stopwatch.Frequency / 1000;
                var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
                long wakeups = 0;
                while (true)
                {
                    var due = Stopwatch.GetTimestamp() + oneMs;
                    Thread.Sleep(1);
                    var woke = Stopwatch.GetTimestamp();
                    wakeups++;
                    if (woke - due > threshold)
                    {
                        stalls.Add(new Stall(due, woke));
                    }

                    if (woke >= end)
                    {
                        break;
                    }
                }

                done.SetResult(new CoreStalls(core, wakeups, realtime, stalls));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { IsBackground = true, Name = $"stall-probe-{core}" };
        thread.Start();
        return done.Task;
    }

    /// <summary>Pins the calling thread to <paramref name="core"/> (sched_setaffinity, pid 0: this thread).</summary>
    private static unsafe void Pin(int core)
    {
        if (!OperatingSystem.IsLinux() || core >= 64)
        {
            return;
        }

        var mask = 1UL << core;
        if (sched_setaffinity(0, sizeof(ulong), &mask) != 0)
        {
            throw new InvalidOperationException($"cannot pin the stall probe's thread to core {core} (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int sched_setaffinity(int pid, nint cpuSetSize, ulong* mask);
}
