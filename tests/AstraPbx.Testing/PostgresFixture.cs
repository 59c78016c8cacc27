using Npgsql;
using Testcontainers.PostgreSql;
using Xunit;

namespace AstraPbx.Testing;

/// <summary>A real PostgreSQL: the one <c>scripts/infra up</c> started, or a Testcontainers one where a Docker
/// engine is reachable. Each test gets its own database from <see cref="CreateDatabaseAsync"/>.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private readonly List<string> _databases = [];
    private PostgreSqlContainer? _container;

    /// <summary>The server's connection string (database <c>postgres</c>).</summary>
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var connectionString = TestEnvironment.Get(TestEnvironment.PostgresVariable);
        if (connectionString is null)
        {
            if (!TestEnvironment.DockerEngineReachable())
            {
                throw new InvalidOperationException("No PostgreSQL for the tests. " + TestEnvironment.HowToStart);
            }

            _container = new PostgreSqlBuilder("postgres:15").Build();
            await _container.StartAsync();
            connectionString = _container.GetConnectionString();
        }

        ConnectionString = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
    }

    /// <summary>A new, empty database; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? prefix = null)
    {
        var name = $"{prefix ?? "test"}_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }

        lock (_databases)
        {
            _databases.Add(name);
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_databases.Count > 0)
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            foreach (var name in _databases)
            {
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
                await drop.ExecuteNonQueryAsync();
            }
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }
}
