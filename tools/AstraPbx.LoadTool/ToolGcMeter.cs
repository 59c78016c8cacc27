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
    private DateTime? _suspendedAt;
    private Snapshot _total;

    /// <summary>Pauses so far and their length.</summary>
    public readonly record struct Snapshot(int Pauses, double TotalMs, double MaxMs)
    {
        /// <summary>Pauses between <paramref name="earlier"/> and this one; the longest is the longest since the meter
        /// was reset at <paramref name="earlier"/>.</summary>
        public Snapshot Since(Snapshot earlier) => new(Pauses - earlier.Pauses, TotalMs - earlier.TotalMs, MaxMs);
    }

    /// <summary>Pauses so far.</summary>
    public Snapshot Read()
    {
        lock (_lock)
        {
            return _total;
        }
    }

    /// <summary>Starts a new longest-pause measurement and returns the counts so far (for <see cref="Snapshot.Since"/>).</summary>
    public Snapshot Restart()
    {
        lock (_lock)
        {
            _total = _total with { MaxMs = 0 };
            return _total;
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
                _suspendedAt = e.TimeStamp;
            }
            else if (e.EventId == RestartEnd && _suspendedAt is { } at)
            {
                var ms = (e.TimeStamp - at).TotalMilliseconds;
                _suspendedAt = null;
                _total = _total with { Pauses = _total.Pauses + 1, TotalMs = _total.TotalMs + ms, MaxMs = Math.Max(_total.MaxMs, ms) };
            }
        }
    }
}
