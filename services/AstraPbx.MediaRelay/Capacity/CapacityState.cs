namespace AstraPbx.MediaRelay.Capacity;

/// <summary>The relay's headroom as last measured.</summary>
/// <param name="Accepting">True when one more session fits.</param>
/// <param name="Limiter"><c>none</c>, <c>cpu</c>, <c>lateness</c>, <c>sessions</c>, <c>draining</c> or <c>warming-up</c>: what is full.</param>
/// <param name="HeadroomSessions">Sessions that still fit (an estimate from the CPU per session).</param>
/// <param name="Sessions">Live and pending sessions.</param>
/// <param name="CpuUsedCores">CPU used over the window, in cores.</param>
/// <param name="CpuLimitCores">The CPU the sessions may use (<c>CpuLimit</c> x available cores).</param>
/// <param name="LateTickRatio">Share of the window's ticks later than <c>LateTickMs</c>.</param>
public sealed record CapacityState(
    bool Accepting,
    string Limiter,
    int HeadroomSessions,
    int Sessions,
    double CpuUsedCores,
    double CpuLimitCores,
    double LateTickRatio)
{
    /// <summary>Before the first measurement: room for everything the session limit allows.</summary>
    public static CapacityState Initial(int maxSessions) => new(true, "none", maxSessions, 0, 0, 0, 0);

    /// <summary>While the relay warms up: no room (it takes no session until its call path is warm).</summary>
    public static CapacityState Warming { get; } = new(false, "warming-up", 0, 0, 0, 0, 0);

    /// <summary>Without a playout measurement, below this many sessions the window's CPU is spread over this many when
    /// projecting one more: with a handful of sessions the process's own work (its bus, GC, the first calls' one-off
    /// costs) is most of what it used, and charging all of it to each session refused the second call of a relay just
    /// started (one session, 0.43 of 0.8 cores, projected 0.86).</summary>
    public const int MinSessionsToProject = 8;

    /// <summary>Fewest ticks later than <c>LateTickMs</c> in a window that count as lateness, whatever their share: one
    /// late tick in a window of 100 (2 s, one lane) is over a 1 % ratio but is noise (a GC, the host), not a relay out
    /// of CPU, and it refused every call for the 2 s it stayed in the window.</summary>
    public const int MinLateTicks = 3;

    /// <summary>The CPU projected with the sessions not yet playing and one more session, in cores.</summary>
    public double ProjectedCores { get; init; }

    /// <summary>Projected load with one more session against the limit (1 is full); what an autoscaler scales on.</summary>
    public double Load => CpuLimitCores <= 0 ? 0 : ProjectedCores / CpuLimitCores;

    /// <summary>Decides from one window's measurement. One session's cost is, when the playout measured any
    /// (<paramref name="playout"/>), what its ticks took per session playing: all of a session's steady work runs on
    /// them, and the fixed cost of a tick spread over few sessions only overstates it. The process's own CPU (session
    /// set-up, its bus, GC, the warm-up's tail) is in what it used but is not charged to every session: charging it
    /// refused most of a burst of calls on a relay just warmed (one session playing, the process at 0.33 cores while it
    /// set up the burst, projected 0.04 cores a session where one costs about 0.002). Sessions not yet playing are
    /// projected at that cost. Without a playout measurement, the window's CPU is spread over the sessions, at least
    /// <see cref="MinSessionsToProject"/>. With no session there is room. Lateness refuses when more than
    /// <c>MaxLateTickRatio</c> of the window's ticks, and at least <see cref="MinLateTicks"/> of them, were late.</summary>
    public static CapacityState Measure(CapacityOptions options, int maxSessions, int sessions, bool draining, double cpuUsedCores,
        double availableCores, double lateTickRatio, long lateTicks, PlayoutLoad playout = default)
    {
        var limit = options.CpuLimit * availableCores;
        var bySessions = Math.Max(0, maxSessions - sessions);
        var measured = playout is { Sessions: > 0, Cores: > 0 };
        var perSession = measured ? playout.Cores / playout.Sessions
            : sessions == 0 || cpuUsedCores <= 0 ? 0
            : cpuUsedCores / Math.Max(sessions, MinSessionsToProject);
        var notPlaying = measured ? Math.Max(0, sessions - playout.Sessions) : 0;
        var byCpu = perSession <= 0 ? bySessions
            : (int)Math.Clamp(Math.Floor((limit - cpuUsedCores) / perSession) - notPlaying, 0, int.MaxValue);
        var headroom = Math.Min(bySessions, byCpu);
        var limiter = draining ? "draining"
            : bySessions == 0 ? "sessions"
            : sessions > 0 && lateTickRatio > options.MaxLateTickRatio && lateTicks >= MinLateTicks ? "lateness"
            : byCpu == 0 ? "cpu"
            : "none";
        return new CapacityState(limiter == "none", limiter, limiter == "none" ? headroom : 0, sessions, cpuUsedCores, limit, lateTickRatio)
        {
            ProjectedCores = cpuUsedCores + perSession * (notPlaying + 1),
        };
    }
}

/// <summary>The playout's share of a window: the sessions it plays and the CPU its ticks took, in cores (0 when the
/// clock does not measure it).</summary>
public readonly record struct PlayoutLoad(int Sessions, double Cores);
