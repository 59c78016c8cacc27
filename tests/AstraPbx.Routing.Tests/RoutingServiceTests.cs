using AstraPbx.LocalRun;
using AstraPbx.Testing;
using Grpc.Health.V1;
using Npgsql;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>The service binary as a user runs it: the maintenance verbs, settings checked at start, gRPC health.</summary>
public sealed class RoutingServiceTests(PostgresFixture postgres, RabbitMqFixture rabbit) : IClassFixture<PostgresFixture>, IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Seed_then_dialplan_verbs_write_the_golden_files_with_the_gateway_url_given()
    {
        var connectionString = await postgres.CreateDatabaseAsync("routingcli");
        var env = new Dictionary<string, string?> { ["ConnectionStrings__postgres"] = connectionString };
        var output = Path.Combine(Path.GetTempPath(), "astrapbx-dialplan-" + Guid.NewGuid().ToString("N"));
        try
        {
            var seed = await ServiceProcess.RunAsync("AstraPbx.Routing", ["seed", "--gateway-url", "ws://127.0.0.1:40123/ws/org-1/bot-1?key=ak_cli"], env, ProcessTimeout);
            var dialplan = await ServiceProcess.RunAsync("AstraPbx.Routing", ["dialplan", "--out", output], env, ProcessTimeout);

            Assert.True(seed.ExitCode == 0, seed.Output);
            Assert.DoesNotContain("ak_cli", seed.Output, StringComparison.Ordinal);
            Assert.True(dialplan.ExitCode == 0, dialplan.Output);
            Assert.Equal(await File.ReadAllTextAsync(DialplanGeneratorTests.GoldenPath("extensions.conf")), await File.ReadAllTextAsync(Path.Combine(output, "extensions.conf")));
            Assert.Equal(await File.ReadAllTextAsync(DialplanGeneratorTests.GoldenPath("queues.conf")), await File.ReadAllTextAsync(Path.Combine(output, "queues.conf")));
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            await using var command = dataSource.CreateCommand("SELECT routing_destination FROM users WHERE id = 3");
            Assert.Equal("ws://127.0.0.1:40123/ws/org-1/bot-1?key=ak_cli", await command.ExecuteScalarAsync());
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Verbs_and_service_name_the_missing_connection_string()
    {
        var env = new Dictionary<string, string?> { ["ConnectionStrings__rabbitmq"] = "amqp://guest:guest@127.0.0.1:1/" };
        var migrate = await ServiceProcess.RunAsync("AstraPbx.Routing", ["migrate"], env, ProcessTimeout);
        var service = await ServiceProcess.RunAsync("AstraPbx.Routing", ["--urls", $"http://127.0.0.1:{ServiceProcess.FreePort()}"], env, ProcessTimeout);

        Assert.Equal(2, migrate.ExitCode);
        Assert.Contains("Setting 'ConnectionStrings:postgres' is missing.", migrate.Output, StringComparison.Ordinal);
        Assert.NotEqual(0, service.ExitCode);
        Assert.Contains("ConnectionStrings:postgres", service.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_routing_settings_stop_the_service_naming_the_key()
    {
        var env = new Dictionary<string, string?>
        {
            ["ConnectionStrings__rabbitmq"] = "amqp://guest:guest@127.0.0.1:1/",
            ["ConnectionStrings__postgres"] = "Host=127.0.0.1;Port=1;Username=x;Password=y;Database=z",
            ["Routing__FallbackContext"] = "reception",
        };
        var service = await ServiceProcess.RunAsync("AstraPbx.Routing", ["--urls", $"http://127.0.0.1:{ServiceProcess.FreePort()}"], env, ProcessTimeout);

        Assert.NotEqual(0, service.ExitCode);
        Assert.Contains("'Routing:FallbackExtension'", service.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_is_serving_with_the_database_and_not_serving_when_it_becomes_unreachable()
    {
        var connectionString = await postgres.CreateDatabaseAsync("routinghealth");
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        proxy.Start();
        target.Host = "127.0.0.1";
        target.Port = proxy.Port;
        target.Timeout = 3;
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        await using var service = ServiceProcess.Start("AstraPbx.Routing", ["--urls", url], new Dictionary<string, string?>
        {
            ["ConnectionStrings__postgres"] = target.ConnectionString,
            ["ConnectionStrings__rabbitmq"] = await rabbit.CreateVirtualHostAsync("routinghealth"),
        });

        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == HealthCheckResponse.Types.ServingStatus.Serving, ProcessTimeout, "SERVING\n" + service.OutputText);
        proxy.Stop();
        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == HealthCheckResponse.Types.ServingStatus.NotServing, ProcessTimeout, "NOT_SERVING");
        proxy.Start();
        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == HealthCheckResponse.Types.ServingStatus.Serving, ProcessTimeout, "SERVING again");
        Assert.DoesNotContain(target.Password!, service.OutputText, StringComparison.Ordinal);
    }
}
