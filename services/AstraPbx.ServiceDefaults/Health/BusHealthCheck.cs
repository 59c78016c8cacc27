using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AstraPbx.ServiceDefaults.Health;

/// <summary>The bus is healthy only when every receive endpoint is connected to the broker. MassTransit's own
/// check may say Degraded while it reconnects, which gRPC health would still report as SERVING.</summary>
internal sealed class BusHealthCheck(IBusControl bus) : IHealthCheck
{
    public const string Name = "bus";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = bus.CheckHealth();
        return Task.FromResult(health.Status == BusHealthStatus.Healthy
            ? HealthCheckResult.Healthy(health.Description)
            : HealthCheckResult.Unhealthy("message bus: " + health.Description));
    }
}
