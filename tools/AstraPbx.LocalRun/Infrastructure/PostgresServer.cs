using Npgsql;

namespace AstraPbx.LocalRun.Infrastructure;

/// <summary>A running PostgreSQL and throwaway databases on it: each run or test gets its own, and every database made
/// here is dropped on dispose.</summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly List<string> _databases = [];

    /// <param name="connectionString">Any connection string to the server; its database is not used.</param>
    public PostgresServer(string connectionString)
    {
        ConnectionString = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false }.ConnectionString;
    }

    /// <summary>The server as <see cref="LocalEnvironment"/> finds it; null when it names none.</summary>
    public static PostgresServer? FromEnvironment() =>
        LocalEnvironment.Get(LocalEnvironment.PostgresVariable) is { } connectionString ? new PostgresServer(connectionString) : null;

    /// <summary>The server's connection string (database <c>postgres</c>, no pooling).</summary>
    public string ConnectionString { get; }

    /// <summary>Fails when the server does not accept a connection.</summary>
    public async Task CheckAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
    }

    /// <summary>A new, empty database <c>prefix_guid</c>; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? prefix = null)
    {
        var name = $"{prefix ?? "test"}_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync().ConfigureAwait(false);
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        lock (_databases)
        {
            _databases.Add(name);
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    /// <summary>Drops every database made here, closing whatever connections are still open to them.</summary>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_databases.Count == 0)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        foreach (var name in _databases)
        {
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
    }
}
