using System.Collections.Concurrent;
using AstraPbx.Contracts.Media;

namespace AstraPbx.Routing.Orchestration;

/// <summary>The latest <see cref="RelayCapacity"/> of each relay, each held for its <c>ValidFor</c> from when it arrived
/// here (this host's clock: no clock agreement with the relays needed). A relay not heard from lately does not count, in
/// either direction: with no fresh report at all Routing asks the relays as it always did.</summary>
public sealed class RelayCapacityView(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (bool Accepting, long Until)> _relays = new(StringComparer.Ordinal);

    /// <summary>Records a relay's report.</summary>
    public void Update(RelayCapacity report)
    {
        var until = time.GetTimestamp() + (long)(report.ValidFor.TotalSeconds * time.TimestampFrequency);
        _relays[report.RelayInstance] = (report.Accepting, until);
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
                _relays.TryRemove(new KeyValuePair<string, (bool, long)>(name, state));
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
