using System.ComponentModel.DataAnnotations;

namespace AstraPbx.MediaRelay.Capacity;

/// <summary>Load-aware admission (section <c>Relay:Capacity</c>): when one more session would take the relay past these
/// limits it stops consuming <c>StartAiSession</c>, so a relay with room takes the request, and it tells Routing
/// (<c>RelayCapacity</c>), which sends the call to the fallback at once when no relay has room.</summary>
public sealed class CapacityOptions
{
    public const string SectionName = "Relay:Capacity";

    /// <summary>Off: the relay takes every session up to <c>Relay:MaxSessions</c>, as before.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The share of the CPU available to the process (its cgroup quota, else its processors) the live and
    /// pending sessions may use, projected with one more session.</summary>
    [Range(0.0001, 1.0, ErrorMessage = "Relay:Capacity:CpuLimit must be 0.0001-1.")]
    public double CpuLimit { get; set; } = 0.8;

    /// <summary>The CPU the relay may count on, in millicores; 0 takes the cgroup quota (a container CPU limit), else
    /// the processors. In Kubernetes the relay runs without a CPU limit (throttling stalls the 20 ms tick) and this
    /// is set from the pod's CPU request, so the limit is what the scheduler reserved, not the whole node.</summary>
    [Range(0, 1_000_000, ErrorMessage = "Relay:Capacity:CpuMillicores must be 0-1000000.")]
    public int CpuMillicores { get; set; }

    /// <summary>A playout tick later than this counts against the relay's headroom (half a millisecond over the 2 ms
    /// the per-session lateness counts is noise on a busy host; a frame spacing over 22 ms is what a caller hears).</summary>
    [Range(0.5, 20, ErrorMessage = "Relay:Capacity:LateTickMs must be 0.5-20.")]
    public double LateTickMs { get; set; } = 4;

    /// <summary>The relay is full while more than this share of its ticks in the window, and at least
    /// <see cref="CapacityState.MinLateTicks"/> of them, were later than <see cref="LateTickMs"/>.</summary>
    [Range(0.0, 1.0, ErrorMessage = "Relay:Capacity:MaxLateTickRatio must be 0-1.")]
    public double MaxLateTickRatio { get; set; } = 0.01;

    /// <summary>The window CPU use and tick lateness are measured over.</summary>
    [Range(typeof(TimeSpan), "00:00:00.250", "00:01:00", ErrorMessage = "Relay:Capacity:Window must be 0.25 s - 1 min.")]
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the relay publishes <c>RelayCapacity</c> when nothing changed (a change is published at once).
    /// Routing forgets a relay it has not heard from in three intervals.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Relay:Capacity:PublishInterval must be 0.1 s - 1 min.")]
    public TimeSpan PublishInterval { get; set; } = TimeSpan.FromSeconds(1);
}
