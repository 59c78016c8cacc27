using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace AstraPbx.Routing.Hosting;

/// <summary>Healthy while PostgreSQL answers and the schema is in place; Unhealthy (NOT_SERVING) otherwise.</summary>
internal sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource, SchemaState schema) : IHealthCheck
{
    public const string Name = "postgres";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!schema.Ready)
        {
            return HealthCheckResult.Unhealthy("database: migrations not applied yet");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("database: unreachable (" + e.GetType().Name + ")");
        }
    }
}
