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

    /// <summary>Below this many sessions the window's CPU is spread over this many when projecting one more: with a
    /// handful of sessions the process's own work (its bus, GC, the first calls' one-off costs) is most of what it
    /// used, and charging all of it to each session refused the second call of a relay just started (one session,
    /// 0.43 of 0.8 cores, projected 0.86).</summary>
    public const int MinSessionsToProject = 8;

    /// <summary>Fewest ticks later than <c>LateTickMs</c> in a window that count as lateness, whatever their share: one
    /// late tick in a window of 100 (2 s, one lane) is over a 1 % ratio but is noise (a GC, the host), not a relay out
    /// of CPU, and it refused every call for the 2 s it stayed in the window.</summary>
    public const int MinLateTicks = 3;

    /// <summary>Projected load with one more session against the limit (1 is full); what an autoscaler scales on.</summary>
    public double Load => CpuLimitCores <= 0 ? 0 : (CpuUsedCores + (Sessions == 0 ? 0 : PerSession(CpuUsedCores, Sessions))) / CpuLimitCores;

    /// <summary>What one more session is projected to cost: the window's CPU spread over its sessions, at least
    /// <see cref="MinSessionsToProject"/>.</summary>
    private static double PerSession(double cpuUsedCores, int sessions) => cpuUsedCores / Math.Max(sessions, MinSessionsToProject);

    /// <summary>Decides from one window's measurement. The CPU per session is what the window's sessions used
    /// together, idle work included (conservative), spread over at least <see cref="MinSessionsToProject"/>; with no
    /// session there is room. Lateness refuses when more than <c>MaxLateTickRatio</c> of the window's ticks, and at
    /// least <see cref="MinLateTicks"/> of them, were late.</summary>
    public static CapacityState Measure(CapacityOptions options, int maxSessions, int sessions, bool draining, double cpuUsedCores,
        double availableCores, double lateTickRatio, long lateTicks)
    {
        var limit = options.CpuLimit * availableCores;
        var bySessions = Math.Max(0, maxSessions - sessions);
        var byCpu = sessions == 0 || cpuUsedCores <= 0 ? bySessions
            : (int)Math.Clamp(Math.Floor((limit - cpuUsedCores) / PerSession(cpuUsedCores, sessions)), 0, int.MaxValue);
        var headroom = Math.Min(bySessions, byCpu);
        var limiter = draining ? "draining"
            : bySessions == 0 ? "sessions"
            : sessions > 0 && lateTickRatio > options.MaxLateTickRatio && lateTicks >= MinLateTicks ? "lateness"
            : byCpu == 0 ? "cpu"
            : "none";
        return new CapacityState(limiter == "none", limiter, limiter == "none" ? headroom : 0, sessions, cpuUsedCores, limit, lateTickRatio);
    }
}
