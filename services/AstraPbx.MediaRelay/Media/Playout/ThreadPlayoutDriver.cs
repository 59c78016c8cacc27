namespace AstraPbx.MediaRelay.Media.Playout;

/// <summary>The real clock: each lane on a thread of its own, on <see cref="TimeProvider.System"/>. A
/// <see cref="Task.Delay(TimeSpan)"/> wake-up goes through the timer queue and the thread pool, which fire a millisecond
/// or more late on a busy machine, and every late tick delays every session of the lane.</summary>
public sealed class ThreadPlayoutDriver : IPlayoutDriver
{
    private static readonly TimeSpan SpinWindow = TimeSpan.FromMilliseconds(2);

    private int _raised;

    public TimeProvider Time => TimeProvider.System;

    public bool PriorityRaised => Volatile.Read(ref _raised) > 0;

    public Task RunAsync(PlayoutTicker ticker, long start, CancellationToken stoppingToken)
    {
        var threads = new Task[ticker.LaneCount];
        for (var i = 0; i < threads.Length; i++)
        {
            var loop = ticker.LoopForLane(i, start);
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var thread = new Thread(() =>
            {
                try
                {
                    if (ThreadNice.TryRaise())
                    {
                        Interlocked.Increment(ref _raised);
                    }

                    Run(loop, stoppingToken);
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

        return Task.WhenAll(threads);
    }

    /// <summary>On Linux the thread sleeps until the tick's absolute due time (clock_nanosleep on CLOCK_MONOTONIC, the
    /// clock Stopwatch reads), so it wakes within tens of microseconds and burns nothing while it waits. Elsewhere:
    /// sleep until about 2 ms before the tick, then yield until it is due.</summary>
    private static void Run(PlayoutLoop loop, CancellationToken stoppingToken)
    {
        var precise = PreciseSleep.Available;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (precise)
            {
                PreciseSleep.Until(loop.DueTimestamp);
            }
            else
            {
                var wait = loop.UntilNext();
                if (wait > SpinWindow)
                {
                    Thread.Sleep(wait - SpinWindow);
                }
            }

            while (loop.UntilNext() > TimeSpan.Zero)
            {
                Thread.Yield();
            }

            loop.RunDue();
        }
    }
}
