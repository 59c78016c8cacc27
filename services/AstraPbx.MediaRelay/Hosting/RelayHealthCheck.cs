using AstraPbx.MediaRelay.Sessions;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>NOT_SERVING while draining or while the AudioSocket listener is not listening.</summary>
public sealed class RelayHealthCheck(SessionRegistry registry, RelayEndpoints endpoints) : IHealthCheck
{
    public const string Name = "relay";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            registry.Draining ? HealthCheckResult.Unhealthy("draining")
            : !endpoints.Listening ? HealthCheckResult.Unhealthy("AudioSocket listener not listening")
            : HealthCheckResult.Healthy($"{registry.LiveCount} live sessions"));
}
