using AstraPbx.AriIngress.Ari;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AstraPbx.AriIngress.Hosting;

/// <summary>NOT_SERVING while the events socket is closed: events are being lost and the resync has not run.</summary>
internal sealed class AriHealthCheck(AriConnection connection) : IHealthCheck
{
    public const string Name = "ari";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(connection.IsConnected
            ? HealthCheckResult.Healthy("ARI events socket open")
            : HealthCheckResult.Unhealthy("ARI events socket not connected"));
}
