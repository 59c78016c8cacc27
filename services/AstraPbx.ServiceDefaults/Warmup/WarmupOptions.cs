using System.ComponentModel.DataAnnotations;

namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>The warm-up at start (<see cref="WarmupService"/>). Section <c>Warmup</c>.</summary>
public sealed class WarmupOptions
{
    public const string SectionName = "Warmup";

    /// <summary>Run the service's warm-up steps at start and report NOT_SERVING until they finish. Off: SERVING as soon
    /// as the other health checks pass, and the first call pays for JIT.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The warm-up gets this long; after it the service reports SERVING anyway (with a warning): a warm-up that
    /// hangs must never keep a service down.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "Warmup:Timeout must be 10 ms - 10 min.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(20);
}
