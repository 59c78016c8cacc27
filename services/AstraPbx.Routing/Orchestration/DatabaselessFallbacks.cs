namespace AstraPbx.Routing.Orchestration;

/// <summary>The calls this instance sent to the fallback while its database was unreachable. The database's own
/// guard (an earlier entry recorded as a fallback) cannot see them until their <c>FallbackTaken</c> is recorded,
/// and a fallback that times out back into Stasis (a reception queue nobody answers) would otherwise circle the
/// call for as long as the outage lasts. Bounded and expiring: at most <see cref="Capacity"/> calls, each kept for
/// <see cref="Expiry"/>, the oldest forgotten first.</summary>
public sealed class DatabaselessFallbacks(TimeProvider time)
{
    /// <summary>Far above the calls one instance routes during an outage; about a megabyte at most.</summary>
    public const int Capacity = 10_000;

    /// <summary>Longer than a caller waits in a fallback queue before it times out back into Stasis.</summary>
    public static readonly TimeSpan Expiry = TimeSpan.FromHours(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, DateTimeOffset> _sent = new(StringComparer.Ordinal);
    private readonly Queue<(string CallId, DateTimeOffset At)> _order = new();

    /// <summary>True when the call was sent to the fallback without the database within <see cref="Expiry"/>.</summary>
    public bool Contains(string callId)
    {
        lock (_lock)
        {
            Forget(time.GetUtcNow());
            return _sent.ContainsKey(callId);
        }
    }

    public void Add(string callId)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            Forget(now);
            if (!_sent.TryAdd(callId, now))
            {
                return;
            }

            _order.Enqueue((callId, now));
            if (_order.Count > Capacity)
            {
                _sent.Remove(_order.Dequeue().CallId);
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _sent.Count;
            }
        }
    }

    private void Forget(DateTimeOffset now)
    {
        while (_order.TryPeek(out var oldest) && now - oldest.At >= Expiry)
        {
            _sent.Remove(_order.Dequeue().CallId);
        }
    }
}
