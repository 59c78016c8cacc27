using Npgsql;

namespace AstraPbx.Demo;

/// <summary>A fresh database for one demo run, dropped at the end, so the demo never touches other data.</summary>
internal sealed class DemoDatabase
{
    private readonly string _server;
    private readonly string _name;

    private DemoDatabase(string server, string name, string connectionString)
    {
        _server = server;
        _name = name;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public static async Task<DemoDatabase> CreateAsync(string connectionString)
    {
        var server = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        var name = "astrapbx_demo_" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await create.ExecuteNonQueryAsync().ConfigureAwait(false);
        return new DemoDatabase(server, name, new NpgsqlConnectionStringBuilder(connectionString) { Database = name }.ConnectionString);
    }

    public async Task DropAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{_name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync().ConfigureAwait(false);
    }
}
