using System.Collections.Concurrent;
using System.Diagnostics;
using CsCheck;

namespace AstraPbx.Fuzz.Running;

/// <summary>Runs a <see cref="FuzzTarget"/> on worker threads until its input count or time limit. Input <c>i</c> comes
/// from its own PCG state (derived from the run's seed and <c>i</c>), so a crash is replayed alone with
/// <see cref="Replay"/> or CsCheck's seed. A crash is an exception out of the target's check (an unexpected exception
/// of the code under test, or a broken invariant) or an input still running after the input timeout (a hang: its
/// thread is abandoned, the run stops).</summary>
public static class FuzzRunner
{
    private static readonly TimeSpan WatchEvery = TimeSpan.FromMilliseconds(200);

    public static FuzzResult Run(FuzzTarget target, FuzzRunSettings settings)
    {
        var outcomes = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var crashes = new ConcurrentQueue<FuzzCrash>();
        var slots = new Slot[Math.Max(1, settings.Threads)];
        var started = Stopwatch.GetTimestamp();
        long next = -1, done = 0;
        var stop = false;

        void Work(Slot slot)
        {
            while (!Volatile.Read(ref stop))
            {
                var index = Interlocked.Increment(ref next);
                if (index >= settings.Inputs || Stopwatch.GetElapsedTime(started) > settings.Time)
                {
                    return;
                }

                var pcg = Pcg(target, settings.Seed, index);
                var seed = pcg.ToString();
                slot.Begin(index);
                try
                {
                    var outcome = target.RunOne(pcg);
                    outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                }
                catch (Exception e)
                {
                    crashes.Enqueue(new FuzzCrash(index, seed, e.GetType().Name, e.ToString(), Describe(target, settings.Seed, index)));
                    if (crashes.Count >= settings.MaxCrashes)
                    {
                        Volatile.Write(ref stop, true);
                    }
                }
                finally
                {
                    slot.End();
                }

                Interlocked.Increment(ref done);
            }
        }

        for (var i = 0; i < slots.Length; i++)
        {
            var slot = slots[i] = new Slot();
            slot.Thread = new Thread(() => Work(slot)) { IsBackground = true, Name = $"fuzz-{target.Name}-{i}" };
            slot.Thread.Start();
        }

        while (true)
        {
            var running = 0;
            foreach (var slot in slots)
            {
                if (slot.Thread!.Join(0) || slot.Abandoned)
                {
                    continue;
                }

                running++;
                if (slot.Running(out var index) > settings.InputTimeout)
                {
                    // A hang: the thread cannot be stopped, only left behind; the run stops here.
                    slot.Abandoned = true;
                    crashes.Enqueue(new FuzzCrash(index, Pcg(target, settings.Seed, index).ToString(), "hang",
                        $"input still running after {settings.InputTimeout.TotalSeconds:0.#} s", Describe(target, settings.Seed, index)));
                    Volatile.Write(ref stop, true);
                }
            }

            if (running == 0)
            {
                break;
            }

            Thread.Sleep(WatchEvery);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var list = crashes.OrderBy(c => c.Index).ToList();
        if (list.Count > 0 && settings.ShrinkTime > TimeSpan.Zero && list[0].Kind != "hang")
        {
            list[0] = list[0] with { Shrunk = target.Shrink(list[0].Seed, settings.ShrinkTime) };
        }

        return new FuzzResult(target.Name, settings.Seed, Interlocked.Read(ref done), elapsed, list, outcomes);
    }

    /// <summary>Runs input <paramref name="index"/> of the run with <paramref name="seed"/> alone: its description and
    /// its outcome (or the exception it throws).</summary>
    public static (string Input, string Outcome) Replay(FuzzTarget target, ulong seed, long index)
    {
        var input = Describe(target, seed, index);
        try
        {
            return (input, target.RunOne(Pcg(target, seed, index)));
        }
        catch (Exception e)
        {
            return (input, "CRASH " + e);
        }
    }

    /// <summary>The PCG state of input <paramref name="index"/>: SplitMix64 of the seed and the index, so neighbouring
    /// inputs are unrelated.</summary>
    private static PCG Pcg(FuzzTarget target, ulong seed, long index)
    {
        var z = seed + 0x9E3779B97F4A7C15UL * (ulong)(index + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return new PCG(target.Stream, z ^ (z >> 31));
    }

    private static string Describe(FuzzTarget target, ulong seed, long index)
    {
        var text = target.Describe(Pcg(target, seed, index));
        return text.Length > 4000 ? text[..4000] + "..." : text;
    }

    /// <summary>What one worker is doing, for the hang watch.</summary>
    private sealed class Slot
    {
        private long _index = -1;
        private long _since;

        public Thread? Thread { get; set; }

        public bool Abandoned { get; set; }

        public void Begin(long index)
        {
            Volatile.Write(ref _since, Stopwatch.GetTimestamp());
            Volatile.Write(ref _index, index);
        }

        public void End() => Volatile.Write(ref _index, -1);

        public TimeSpan Running(out long index)
        {
            index = Volatile.Read(ref _index);
            return index < 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(Volatile.Read(ref _since));
        }
    }
}
