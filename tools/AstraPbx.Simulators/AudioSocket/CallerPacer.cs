using System.Diagnostics;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>One thread that paces many <see cref="AudioSocketCaller"/>s (the load tool's 1,000 calls) instead of a
/// timer per call. Each caller sends one frame every 20 ms on an absolute schedule; callers are spread over 1 ms slots
/// (20 per period) as real calls are spread in phase, so the relay is not hit by every call in the same instant.</summary>
public sealed class CallerPacer : IDisposable
{
    private const int Slots = 20;
    private static readonly long SlotTicks = Stopwatch.Frequency / 1000;

    /// <summary>Behind by more than this (the machine stalled), the pacer skips ahead instead of sending the missed
    /// frames in a burst, as a stalled Asterisk would not make up lost time either.</summary>
    private static readonly long ResyncTicks = Stopwatch.Frequency / 10;

    private readonly Lock _lock = new();
    private readonly List<AudioSocketCaller>[] _slots = new List<AudioSocketCaller>[Slots];
    private readonly AudioSocketCaller[][] _snapshots = new AudioSocketCaller[Slots][];
    private readonly Thread _thread;
    private volatile bool _stopping;
    private int _nextSlot;
    private long _lateSlots;
    private double _maxLatenessMs;

    private readonly bool _realtime;
    private readonly TaskCompletionSource<bool> _realtimeSet = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts the pacing thread. With <paramref name="realtime"/> (the load tool), the thread asks for SCHED_FIFO
    /// (<see cref="RealtimeThread"/>): an ordinary thread of the same process (the echo bot's, the JIT) or another
    /// process on its core (the broker) then never delays a slot.</summary>
    public CallerPacer(bool realtime = false)
    {
        _realtime = realtime;
        for (var i = 0; i < Slots; i++)
        {
            _slots[i] = [];
            _snapshots[i] = [];
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "caller-pacer", Priority = ThreadPriority.AboveNormal };
        _thread.Start();
    }

    /// <summary>Whether the pacing thread runs at SCHED_FIFO (false when not asked for, or refused).</summary>
    public Task<bool> Realtime => _realtimeSet.Task;

    /// <summary>1 ms slots that started more than 2 ms late (the load machine, not the relay, was behind).</summary>
    public long LateSlots => Interlocked.Read(ref _lateSlots);

    /// <summary>Times the pacer fell more than 100 ms behind and skipped ahead.</summary>
    public long Resyncs => Interlocked.Read(ref _resyncs);

    private long _resyncs;

    /// <summary>The worst slot lateness, in milliseconds.</summary>
    public double MaxLatenessMs => Volatile.Read(ref _maxLatenessMs);

    /// <summary>Callers currently paced.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                var count = 0;
                foreach (var slot in _slots)
                {
                    count += slot.Count;
                }

                return count;
            }
        }
    }

    internal void Add(AudioSocketCaller caller)
    {
        lock (_lock)
        {
            var slot = _nextSlot++ % Slots;
            _slots[slot].Add(caller);
            Volatile.Write(ref _snapshots[slot], [.. _slots[slot]]);
        }
    }

    internal void Remove(AudioSocketCaller caller)
    {
        lock (_lock)
        {
            for (var slot = 0; slot < Slots; slot++)
            {
                if (_slots[slot].Remove(caller))
                {
                    Volatile.Write(ref _snapshots[slot], [.. _slots[slot]]);
                }
            }
        }
    }

    private void Run()
    {
        _realtimeSet.TrySetResult(_realtime && RealtimeThread.TrySet());
        var next = Stopwatch.GetTimestamp();
        long slot = 0;
        while (!_stopping)
        {
            var now = Stopwatch.GetTimestamp();
            var wait = next - now;
            if (wait > 0)
            {
                // Whole milliseconds: a sub-millisecond sleep is a yield, and yielding in a loop burns a core.
                Thread.Sleep(1);
                continue;
            }

            if (-wait > ResyncTicks)
            {
                Interlocked.Increment(ref _resyncs);
                var missed = -wait / SlotTicks;
                slot += missed;
                next += missed * SlotTicks;
                continue;
            }

            var lateMs = -wait * 1000.0 / Stopwatch.Frequency;
            if (lateMs > 2)
            {
                Interlocked.Increment(ref _lateSlots);
            }

            if (lateMs > _maxLatenessMs)
            {
                Volatile.Write(ref _maxLatenessMs, lateMs);
            }

            foreach (var caller in Volatile.Read(ref _snapshots[slot % Slots]))
            {
                caller.SendPacedFrame();
            }

            slot++;
            next += SlotTicks;
        }
    }

    /// <summary>Stops pacing: no caller sends another frame.</summary>
    public void Dispose()
    {
        _stopping = true;
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }
}
