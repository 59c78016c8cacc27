using AstraPbx.MediaRelay.Media.Playout;
using Microsoft.Extensions.Time.Testing;

namespace AstraPbx.MediaRelay.Tests.Support;

/// <summary>Drives the playout clock from a <see cref="FakeTimeProvider"/>: it waits with
/// <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>, so advancing the fake time drives the ticks, and
/// every lane ticks from one loop at the period's start, so schedules are exact. A test waits for a tick to have reached
/// every session with <see cref="WhenTicked"/>.</summary>
public sealed class TestPlayoutDriver(FakeTimeProvider time) : IPlayoutDriver
{
    private readonly object _lock = new();
    private readonly List<(long Tick, TaskCompletionSource Done)> _waiters = [];
    private PlayoutTicker? _ticker;

    public TimeProvider Time => time;

    public bool PriorityRaised => false;

    /// <summary>Completes once tick number <paramref name="tick"/> has been delivered to every session.</summary>
    public Task WhenTicked(long tick)
    {
        lock (_lock)
        {
            if ((_ticker?.Ticks ?? 0) >= tick)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((tick, done));
            return done.Task;
        }
    }

    public async Task RunAsync(PlayoutTicker ticker, long start, CancellationToken stoppingToken)
    {
        lock (_lock)
        {
            _ticker = ticker;
        }

        // Leave the host's start path at once: the loop runs on the thread pool.
        await Task.Yield();
        var loop = ticker.LoopForAllLanes(start);
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = loop.UntilNext();
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    // The delay's timer is due at "now + wait" as the time provider reads it when the timer is made:
                    // time advanced between reading wait and making the timer would push the tick one advance late,
                    // so look again once the timer exists.
                    var delay = Task.Delay(wait, time, stoppingToken);
                    if (loop.UntilNext() > TimeSpan.Zero)
                    {
                        await delay.ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            loop.RunDue();
            Release(ticker.Ticks);
        }
    }

    private void Release(long ticks)
    {
        // Under the lock WhenTicked takes, so a waiter added now is either released here or sees the new count.
        lock (_lock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Tick <= ticks)
                {
                    _waiters[i].Done.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}
