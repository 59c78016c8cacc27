using System.Collections.Concurrent;
using AstraPbx.Contracts.Media;

namespace AstraPbx.Routing.Orchestration;

/// <summary>The latest <see cref="RelayCapacity"/> of each relay, each held for its <c>ValidFor</c> from when it arrived
/// here (this host's clock: no clock agreement with the relays needed). A relay not heard from lately does not count, in
/// either direction: with no fresh report at all Routing asks the relays as it always did.</summary>
public sealed class RelayCapacityView(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (bool Accepting, long Until, DateTimeOffset MeasuredAt)> _relays = new(StringComparer.Ordinal);
    private readonly object _noRoomGate = new();
    private CancellationTokenSource _noRoom = new();

    /// <summary>Cancelled when a report leaves no relay with room (<see cref="NoRelayHasRoom"/>), then replaced for the
    /// next time. A request still waiting then waits on a queue no relay consumes: a full relay stops consuming, and it
    /// reports no room only once the requests it had already taken are answered (stopping its endpoint waits for them).
    /// Take the token before checking <see cref="NoRelayHasRoom"/>, so a report between the two is not missed.</summary>
    public CancellationToken NoRoomReported
    {
        get
        {
            lock (_noRoomGate)
            {
                return _noRoom.Token;
            }
        }
    }

    /// <summary>Records a relay's report, unless it has a later one already: reports are consumed concurrently, and a
    /// relay that pauses publishes its report of no room at once, milliseconds after a periodic report of room; handled
    /// the other way round, the view said "room" until the next report.</summary>
    public void Update(RelayCapacity report)
    {
        var until = time.GetTimestamp() + (long)(report.ValidFor.TotalSeconds * time.TimestampFrequency);
        var entry = (report.Accepting, until, report.MeasuredAt);
        if (_relays.AddOrUpdate(report.RelayInstance, entry, (_, held) => report.MeasuredAt < held.MeasuredAt ? held : entry) != entry)
        {
            return;
        }

        if (report.Accepting || !NoRelayHasRoom(out _))
        {
            return;
        }

        // Every report of no room while none has any, not only the change: a full relay repeats it every interval, which
        // also catches a view that turned full because another relay's report of room ran out.
        CancellationTokenSource full;
        lock (_noRoomGate)
        {
            full = _noRoom;
            _noRoom = new CancellationTokenSource();
        }

        // Not disposed: a request may still be linking to its token; a cancelled source holds no timer.
        full.Cancel();
    }

    /// <summary>True when at least one relay reported lately and none of those has room.</summary>
    public bool NoRelayHasRoom(out int relays)
    {
        var now = time.GetTimestamp();
        relays = 0;
        foreach (var (name, state) in _relays)
        {
            if (state.Until < now)
            {
                _relays.TryRemove(new KeyValuePair<string, (bool, long, DateTimeOffset)>(name, state));
                continue;
            }

            if (state.Accepting)
            {
                return false;
            }

            relays++;
        }

        return relays > 0;
    }
}
