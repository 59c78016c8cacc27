using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AstraPbx.ServiceDefaults.Health;

/// <summary>The bus is healthy only when every receive endpoint is connected to the broker. MassTransit's own
/// check may say Degraded while it reconnects, which gRPC health would still report as SERVING.
/// An endpoint the service stopped on purpose (<see cref="PausedEndpoints"/>) does not count.</summary>
internal sealed class BusHealthCheck(IBusControl bus, PausedEndpoints paused) : IHealthCheck
{
    public const string Name = "bus";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = bus.CheckHealth();
        if (health.Status == BusHealthStatus.Healthy)
        {
            return Task.FromResult(HealthCheckResult.Healthy(health.Description));
        }

        return Task.FromResult(health.Status == BusHealthStatus.Degraded && paused.ExplainDegraded(health, out var names)
            ? HealthCheckResult.Healthy($"message bus connected; paused on purpose: {names}")
            : HealthCheckResult.Unhealthy("message bus: " + health.Description));
    }
}
