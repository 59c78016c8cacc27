using AstraPbx.LocalRun;
using AstraPbx.Testing;
using Xunit;
using Status = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace AstraPbx.Foundation.Tests;

/// <summary>Each service, run as its own process with its broker (and database), runs every one of its warm-up steps
/// to the end before it reports SERVING, then its rounds: none fails, none is cut by the timeout.</summary>
public sealed class ServiceWarmupTests(RabbitMqFixture rabbit, PostgresFixture postgres) : IClassFixture<RabbitMqFixture>, IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static TheoryData<string, string[]> Services => new()
    {
        { "AstraPbx.AriIngress", ["ari-path", "ingress-call", "ingress-bus", "ari-connections"] },
        { "AstraPbx.Routing", ["routing-path", "routing-bus"] },
        { "AstraPbx.MediaRelay", ["relay-path", "relay-bus"] },
    };

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Service_runs_all_its_warmup_steps_before_serving(string service, string[] steps)
    {
        var vhost = await rabbit.CreateVirtualHostAsync("warmup");
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        await using var environment = await ServiceEnvironment.ForAsync(service, vhost, postgres);
        await using var process = ServiceProcess.Start(service, ["--urls", url], environment.Variables);

        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == Status.Serving, Patience, service + " to be SERVING\n" + process.OutputText);

        var output = process.OutputText;
        Assert.Contains("Warm-up finished", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Warm-up step", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Warm-up not finished", output, StringComparison.Ordinal);
        foreach (var step in steps)
        {
            Assert.Matches($@"Warm-up finished in \d+ ms: .*{step} \d+ ms", output);
        }

        // Then the repeatable steps' rounds, until the runtime stopped recompiling (or the rounds ran out).
        Assert.Matches(@"settled after \d+ rounds? of \d+ passes", output);
        Assert.DoesNotContain("failed mid-call", output, StringComparison.Ordinal);
    }
}
