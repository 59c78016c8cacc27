using AstraPbx.Routing.Data;
using AstraPbx.Routing.Dialplan;
using AstraPbx.ServiceDefaults;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AstraPbx.Routing.Cli;

/// <summary>The maintenance verbs, run instead of the service:
/// <c>migrate</c> (apply the schema), <c>seed [--gateway-url URL]</c> (migrate, then write the seed data),
/// <c>dialplan --out DIR</c> (write extensions.conf and queues.conf). They read the service's own settings
/// (appsettings.json, environment, command line), so <c>ConnectionStrings:postgres</c> is found the same way.</summary>
public sealed class RoutingCommand : ICliCommand
{
    public static readonly IReadOnlySet<string> Verbs = new HashSet<string>(StringComparer.Ordinal) { "migrate", "seed", "dialplan" };

    public bool IsRequested(string[] args) => args.Length > 0 && Verbs.Contains(args[0]);

    public async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args[1..], new Dictionary<string, string>
            {
                ["--gateway-url"] = "Seed:GatewayUrl",
                ["--out"] = "Dialplan:Out",
            })
            .Build();
        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
        var logger = loggerFactory.CreateLogger("AstraPbx.Routing");

        var connectionString = configuration[PostgresOptions.ConnectionStringKey];
        if (PostgresOptions.Problem(connectionString) is { } problem)
        {
            await Console.Error.WriteLineAsync(problem);
            return 2;
        }

        var routing = new RoutingOptions();
        configuration.GetSection(RoutingOptions.Section).Bind(routing);
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(connectionString!);
            switch (args[0])
            {
                case "migrate":
                    await MigrateAsync(connectionString!, logger);
                    return 0;

                case "seed":
                    var gatewayUrl = configuration["Seed:GatewayUrl"];
                    if (gatewayUrl is not null && !Resolution.RouteResolver.IsGatewayUrl(gatewayUrl))
                    {
                        await Console.Error.WriteLineAsync("seed: --gateway-url must be a ws:// or wss:// URL");
                        return 2;
                    }

                    await MigrateAsync(connectionString!, logger);
                    await Seeder.SeedAsync(dataSource, gatewayUrl);
                    Console.WriteLine($"seed: organization 1 (org1), users 1001 Hari, 1002 Surya, 1003 AI Bot -> {ServiceDefaults.Telemetry.SecretRedactor.RedactUrl(gatewayUrl ?? Seeder.DefaultGatewayUrl)}, queue 5001 reception");
                    return 0;

                default:
                    var output = configuration["Dialplan:Out"];
                    if (string.IsNullOrWhiteSpace(output))
                    {
                        await Console.Error.WriteLineAsync("dialplan: --out <dir> is required");
                        return 2;
                    }

                    var dialplan = await DialplanGenerator.GenerateAsync(new RoutingRepository(dataSource), routing);
                    foreach (var file in await DialplanGenerator.WriteAsync(dialplan, output))
                    {
                        Console.WriteLine("dialplan: wrote " + file);
                    }

                    return 0;
            }
        }
        catch (DialplanValueException e)
        {
            await Console.Error.WriteLineAsync("dialplan: " + e.Message);
            return 3;
        }
        catch (NpgsqlException e)
        {
            await Console.Error.WriteLineAsync($"{args[0]}: database error: {e.Message}");
            return 1;
        }
    }

    private static async Task MigrateAsync(string connectionString, ILogger logger)
    {
        var applied = await DatabaseMigrator.MigrateAsync(connectionString, logger, CancellationToken.None);
        Console.WriteLine($"migrate: schema up to date ({applied.Count} script(s) applied)");
    }
}
