using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;

namespace AstraPbx.ServiceDefaults.Health;

/// <summary>The <c>health</c> verb: <c>AstraPbx.Routing health [--urls http://host:port]</c>.
/// It reads the same settings the service reads (appsettings, <c>ASPNETCORE_URLS</c>, <c>--urls</c>),
/// asks <c>grpc.health.v1.Health/Check</c> on the first URL and exits 0 on SERVING, 1 otherwise.
/// Compose health checks use it so that no probe binary is needed in the image.</summary>
public static class HealthCommand
{
    public const string Verb = "health";

    public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == Verb;

    public static async Task<int> RunAsync(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddEnvironmentVariables()
            .AddCommandLine(args[1..])
            .Build();

        var target = ProbeAddress(configuration["urls"]);
        if (target is null)
        {
            await Console.Error.WriteLineAsync("health: no URL to ask; set 'urls' (ASPNETCORE_URLS or --urls)").ConfigureAwait(false);
            return 1;
        }

        try
        {
            using var channel = GrpcChannel.ForAddress(target);
            var client = new Grpc.Health.V1.Health.HealthClient(channel);
            var reply = await client.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5)).ConfigureAwait(false);
            Console.WriteLine($"health: {target} {reply.Status}");
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (Grpc.Core.RpcException e)
        {
            await Console.Error.WriteLineAsync($"health: {target} unreachable ({e.StatusCode})").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>The first configured URL, with a wildcard host replaced by loopback.</summary>
    public static Uri? ProbeAddress(string? urls)
    {
        var first = urls?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        if (string.IsNullOrEmpty(first))
        {
            return null;
        }

        first = first.Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal);
        return Uri.TryCreate(first, UriKind.Absolute, out var uri) ? uri : null;
    }
}
