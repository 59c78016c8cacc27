using AstraPbx.Routing.Data;
using AstraPbx.Routing.Resolution;
using AstraPbx.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AstraPbx.Routing.Tests;

/// <summary>A fresh database with the schema applied (and the seed, when asked), plus the classes that read it.</summary>
public sealed class RoutingDatabase : IAsyncDisposable
{
    private RoutingDatabase(string connectionString, NpgsqlDataSource dataSource)
    {
        ConnectionString = connectionString;
        DataSource = dataSource;
        Repository = new RoutingRepository(dataSource);
    }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    public RoutingRepository Repository { get; }

    public static async Task<RoutingDatabase> CreateAsync(PostgresFixture postgres, bool seed = true, string? gatewayUrl = null)
    {
        var connectionString = await postgres.CreateDatabaseAsync("routing");
        await DatabaseMigrator.MigrateAsync(connectionString, NullLogger.Instance, CancellationToken.None);
        var database = new RoutingDatabase(connectionString, NpgsqlDataSource.Create(connectionString));
        if (seed)
        {
            await Seeder.SeedAsync(database.DataSource, gatewayUrl);
        }

        return database;
    }

    public RouteResolver Resolver(RoutingOptions? options = null) => new(Repository, new FixedOptions<RoutingOptions>(options ?? WithFallback()));

    /// <summary>Options with a fallback to a reception context, as the tests expect.</summary>
    public static RoutingOptions WithFallback() => new() { FallbackContext = "org1-internal", FallbackExtension = "9000" };

    public async Task<int> ExecuteAsync(string sql, params object[] values)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return await command.ExecuteNonQueryAsync();
    }

    public async Task<T?> ScalarAsync<T>(string sql, params object[] values)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        var result = await command.ExecuteScalarAsync();
        return result is DBNull or null ? default : (T)result;
    }

    public async ValueTask DisposeAsync() => await DataSource.DisposeAsync();
}

/// <summary>An options monitor that always answers the same value.</summary>
public sealed class FixedOptions<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
