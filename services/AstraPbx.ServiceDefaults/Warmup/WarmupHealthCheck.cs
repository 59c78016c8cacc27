using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>Unhealthy (gRPC health NOT_SERVING) until the warm-up is over, so that a load balancer or compose sends
/// the first call to a warm service.</summary>
internal sealed class WarmupHealthCheck(WarmupState state) : IHealthCheck
{
    public const string Name = "warmup";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(state.IsDone ? HealthCheckResult.Healthy("warm") : HealthCheckResult.Unhealthy("warming up"));
}
