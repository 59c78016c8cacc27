using DbUp;
using DbUp.Engine.Output;
using Npgsql;

namespace AstraPbx.Routing.Data;

/// <summary>Applies the embedded SQL scripts (<c>Data/Migrations/*.sql</c>, in name order) with DbUp. DbUp records
/// what it ran in <c>schemaversions</c>, so running it again does nothing. Replicas starting together take a
/// PostgreSQL advisory lock so that one of them migrates while the others wait.</summary>
public static class DatabaseMigrator
{
    // Any constant: the key of the advisory lock that serialises migrations.
    private const long MigrationLockKey = 0x41737472615062;

    /// <summary>Applies the pending scripts; returns their names. Throws when a script fails.</summary>
    public static async Task<IReadOnlyList<string>> MigrateAsync(string connectionString, ILogger logger, CancellationToken token)
    {
        await using var lockConnection = new NpgsqlConnection(connectionString);
        await lockConnection.OpenAsync(token);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock($1)", lockConnection) { Parameters = { new() { Value = MigrationLockKey } } })
        {
            await take.ExecuteNonQueryAsync(token);
        }

        try
        {
            var upgrader = DeployChanges.To
                .PostgresqlDatabase(connectionString)
                .WithScriptsEmbeddedInAssembly(typeof(DatabaseMigrator).Assembly, name => name.Contains(".Data.Migrations.", StringComparison.Ordinal))
                .WithTransactionPerScript()
                .LogTo(new DbUpLog(logger))
                .Build();
            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
            {
                throw new InvalidOperationException($"Migration {result.ErrorScript?.Name} failed: {result.Error.Message}", result.Error);
            }

            return result.Scripts.Select(s => s.Name).ToList();
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", lockConnection) { Parameters = { new() { Value = MigrationLockKey } } };
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private sealed class DbUpLog(ILogger logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => RoutingLog.Migration(logger, LogLevel.Trace, string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));

        public void LogDebug(string format, params object[] args) => RoutingLog.Migration(logger, LogLevel.Debug, string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));

        public void LogInformation(string format, params object[] args) => RoutingLog.Migration(logger, LogLevel.Information, string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));

        public void LogWarning(string format, params object[] args) => RoutingLog.Migration(logger, LogLevel.Warning, string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));

        public void LogError(string format, params object[] args) => RoutingLog.Migration(logger, LogLevel.Error, string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));

        public void LogError(Exception ex, string format, params object[] args) => RoutingLog.Migration(logger, LogLevel.Error, string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
    }
}
