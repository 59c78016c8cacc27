using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Sessions;

/// <summary>Every pending and live session of this relay, the capacity limit, and the draining flag. A UUID is
/// claimable once: claimed and ended ids are remembered for a while so a reuse is told apart from a guess.</summary>
public sealed class SessionRegistry
{
    private static readonly TimeSpan RememberUsedIds = TimeSpan.FromMinutes(10);

    private readonly ConcurrentDictionary<Guid, RelaySession> _sessions = new();
    private readonly ConcurrentDictionary<Guid, long> _used = new();

    // Sessions that ended before Asterisk claimed them (the bot left, or the claim never came): a late connection for
    // one of them is refused with a reason that says so, not as a reused UUID.
    private readonly ConcurrentDictionary<Guid, long> _endedUnclaimed = new();
    private readonly RelayOptions _options;
    private int _reserved;
    private long _started;
    private long _failed;
    private long _framesToGateway;
    private long _framesToCaller;
    private long _underruns;
    private volatile bool _draining;

    public SessionRegistry(IOptions<RelayOptions> options) => _options = options.Value;

    /// <summary>True once a drain started: no new sessions.</summary>
    public bool Draining => _draining;

    internal void SetDraining() => _draining = true;

    /// <summary>Slots taken: sessions being prepared, pending and live.</summary>
    public int Reserved => Math.Max(0, Volatile.Read(ref _reserved));

    public int PendingCount => _sessions.Values.Count(s => s.IsPending);

    public int LiveCount => _sessions.Values.Count(s => s.IsLive);

    /// <summary>Sessions prepared (AiSessionReady) since start.</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>StartAiSession answered with AiSessionFailed since start.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Totals of ended sessions plus the live ones.</summary>
    public (long ToGateway, long ToCaller, long Underruns) Frames
    {
        get
        {
            long toGateway = Interlocked.Read(ref _framesToGateway), toCaller = Interlocked.Read(ref _framesToCaller), underruns = Interlocked.Read(ref _underruns);
            foreach (var session in _sessions.Values)
            {
                toGateway += session.FramesToGateway;
                toCaller += session.FramesToCaller;
                underruns += session.Underruns;
            }

            return (toGateway, toCaller, underruns);
        }
    }

    internal IReadOnlyCollection<RelaySession> Sessions => (IReadOnlyCollection<RelaySession>)_sessions.Values;

    internal bool TryGet(Guid sessionId, out RelaySession session) => _sessions.TryGetValue(sessionId, out session!);

    internal bool WasUsed(Guid sessionId) => _used.ContainsKey(sessionId);

    /// <summary>Takes one of <see cref="RelayOptions.MaxSessions"/> slots; false when full.</summary>
    internal bool TryReserve()
    {
        if (Interlocked.Increment(ref _reserved) > _options.MaxSessions)
        {
            Interlocked.Decrement(ref _reserved);
            return false;
        }

        return true;
    }

    internal void Release() => Interlocked.Decrement(ref _reserved);

    internal void CountFailed() => Interlocked.Increment(ref _failed);

    /// <summary>Registers a prepared session (holding a reserved slot); false if its id is already known. The session
    /// is dropped, and its slot released, once its legs are closed (<see cref="RelaySession.Closed"/>).</summary>
    internal bool TryAdd(RelaySession session)
    {
        if (_used.ContainsKey(session.SessionId) || !_sessions.TryAdd(session.SessionId, session))
        {
            return false;
        }

        Interlocked.Increment(ref _started);
        session.Closed.Register(() => Remove(session));
        return true;
    }

    internal ClaimOutcome TryClaim(Guid sessionId, out RelaySession session)
    {
        if (_sessions.TryGetValue(sessionId, out session!) && session.TryClaim())
        {
            _used[sessionId] = Stopwatch.GetTimestamp();
            return ClaimOutcome.Claimed;
        }

        if (_endedUnclaimed.ContainsKey(sessionId) || (session is not null && session.IsEnded && !session.WasClaimed))
        {
            return ClaimOutcome.EndedBeforeClaim;
        }

        return _used.ContainsKey(sessionId) || (session is not null && !session.IsPending) ? ClaimOutcome.AlreadyClaimed : ClaimOutcome.Unknown;
    }

    private void Remove(RelaySession session)
    {
        if (_sessions.TryRemove(new KeyValuePair<Guid, RelaySession>(session.SessionId, session)))
        {
            _used[session.SessionId] = Stopwatch.GetTimestamp();
            if (!session.WasClaimed)
            {
                _endedUnclaimed[session.SessionId] = Stopwatch.GetTimestamp();
            }

            Interlocked.Add(ref _framesToGateway, session.FramesToGateway);
            Interlocked.Add(ref _framesToCaller, session.FramesToCaller);
            Interlocked.Add(ref _underruns, session.Underruns);
            Release();
        }
    }

    /// <summary>One pass of the watchdog: the gateways' keep-alive (<see cref="RelaySession.CheckGateway"/>), expires
    /// unclaimed sessions, ends calls whose Asterisk side stopped mid-frame, forgets old used ids.</summary>
    internal void Sweep()
    {
        var now = Environment.TickCount64;
        foreach (var session in _sessions.Values)
        {
            session.CheckGateway(now);
            if (session.IsPending && session.Age > _options.PendingSessionExpiry)
            {
                _ = session.EndAsync(EndReason.NotClaimed);
            }
            else if (session.IsLive && session.CallerStalled > _options.CallerIdleTimeout)
            {
                _ = session.EndAsync(EndReason.CallerIdle);
            }
        }

        foreach (var (id, at) in _used)
        {
            if (Stopwatch.GetElapsedTime(at) > RememberUsedIds)
            {
                _used.TryRemove(id, out _);
                _endedUnclaimed.TryRemove(id, out _);
            }
        }
    }
}
