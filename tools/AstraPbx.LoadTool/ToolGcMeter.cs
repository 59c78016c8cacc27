using System.Diagnostics.Tracing;

namespace AstraPbx.LoadTool;

/// <summary>The load tool's own garbage collections: a collection suspends every managed thread, the pacer and the echo
/// bot's included, so a pause shows at the relay as callers and bot audio arriving late at once. Counts each pause (from
/// the runtime suspending threads to resuming them) and the longest, from the runtime's GC events read in-process.</summary>
internal sealed class ToolGcMeter : EventListener
{
    private const int SuspendBegin = 9; // GCSuspendEEBegin_V1
    private const int RestartEnd = 3; // GCRestartEEEnd_V1

    private readonly Lock _lock = new();
    private readonly List<(DateTime Began, double Ms)> _pauses = [];
    private DateTime? _suspendedAt;

    /// <summary>Pauses in a stretch of time, and their length.</summary>
    public readonly record struct Snapshot(int Pauses, double TotalMs, double MaxMs);

    /// <summary>Now, on the clock the runtime stamps its events with (UTC): a bound for <see cref="Between"/>.</summary>
    public static DateTime Mark() => DateTime.UtcNow;

    /// <summary>The pauses that began in [<paramref name="from"/>, <paramref name="to"/>), by the runtime's own time
    /// stamps: the events reach the listener on its own thread, tens of milliseconds after the pause, so a pause that
    /// began before a mark can arrive after it (the no-GC region's own collection, just before the first call, did).</summary>
    public Snapshot Between(DateTime from, DateTime to)
    {
        lock (_lock)
        {
            var pauses = 0;
            var total = 0.0;
            var max = 0.0;
            foreach (var (began, ms) in _pauses)
            {
                if (began >= from && began < to)
                {
                    pauses++;
                    total += ms;
                    max = Math.Max(max, ms);
                }
            }

            return new Snapshot(pauses, total, max);
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Informational, (EventKeywords)0x1 /* GC */);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        lock (_lock)
        {
            if (e.EventId == SuspendBegin)
            {
                _suspendedAt = e.TimeStamp.ToUniversalTime();
            }
            else if (e.EventId == RestartEnd && _suspendedAt is { } at)
            {
                _suspendedAt = null;
                _pauses.Add((at, (e.TimeStamp.ToUniversalTime() - at).TotalMilliseconds));
            }
        }
    }
}
