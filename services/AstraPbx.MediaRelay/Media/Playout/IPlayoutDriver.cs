namespace AstraPbx.MediaRelay.Media.Playout;

/// <summary>What waits for the playout schedule's due times: it makes the loops (<see cref="PlayoutTicker.LoopForLane"/>
/// or <see cref="PlayoutTicker.LoopForAllLanes"/>), waits until each loop's tick is due and runs it
/// (<see cref="PlayoutLoop.RunDue"/>). The relay's driver is <see cref="ThreadPlayoutDriver"/>; tests drive the clock
/// from a fake <see cref="TimeProvider"/> with one of their own.</summary>
public interface IPlayoutDriver
{
    /// <summary>The time the schedule is read on.</summary>
    TimeProvider Time { get; }

    /// <summary>Whether the driver raised its threads' scheduling priority (for the clock's start log).</summary>
    bool PriorityRaised { get; }

    /// <summary>Starts ticking on the schedule that began at <paramref name="start"/> (a <see cref="Time"/> timestamp)
    /// and returns at once; the task completes once the ticks have stopped.</summary>
    Task RunAsync(PlayoutTicker ticker, long start, CancellationToken stoppingToken);
}
