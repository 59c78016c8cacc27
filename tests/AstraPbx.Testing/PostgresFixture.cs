using AstraPbx.LocalRun.Infrastructure;
using Testcontainers.PostgreSql;
using Xunit;

namespace AstraPbx.Testing;

/// <summary>A real PostgreSQL: the one <c>scripts/infra up</c> started, or a Testcontainers one where a Docker
/// engine is reachable. Each test gets its own database from <see cref="CreateDatabaseAsync"/>.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgreSqlContainer? _container;
    private PostgresServer _server = null!;

    /// <summary>The server's connection string (database <c>postgres</c>).</summary>
    public string ConnectionString => _server.ConnectionString;

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

        _server = new PostgresServer(connectionString);
        await _server.CheckAsync();
    }

    /// <summary>A new, empty database; returns its connection string.</summary>
    public Task<string> CreateDatabaseAsync(string? prefix = null) => _server.CreateDatabaseAsync(prefix);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }
}
