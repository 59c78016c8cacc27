using AstraPbx.LocalRun;
using AstraPbx.Testing;
using Grpc.Health.V1;
using Xunit;
using Status = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace AstraPbx.Foundation.Tests;

/// <summary>Each service, run as its own process, answers grpc.health.v1: SERVING with its broker, NOT_SERVING
/// once the broker goes away, and SERVING again when it is back.</summary>
public sealed class ServiceHealthTests(RabbitMqFixture rabbit, PostgresFixture postgres) : IClassFixture<RabbitMqFixture>, IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Services => new("AstraPbx.AriIngress", "AstraPbx.Routing", "AstraPbx.MediaRelay");

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Service_reports_serving_with_its_broker_and_not_serving_without_it(string service)
    {
        var vhost = await rabbit.CreateVirtualHostAsync("health");
        await using var broker = new TcpProxy(rabbit.Address.Host, rabbit.Address.Port);
        broker.Start();
        var connection = vhost.Replace($":{rabbit.Address.Port}/", $":{broker.Port}/", StringComparison.Ordinal);
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";

        await using var environment = await ServiceEnvironment.ForAsync(service, connection, postgres);
        await using var process = ServiceProcess.Start(service, ["--urls", url], environment.Variables);
        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == Status.Serving, Patience, service + " to be SERVING\n" + process.OutputText);

        var (healthy, healthyOutput) = await ServiceProcess.RunAsync(service, ["health", "--urls", url], ServiceEnvironment.Empty, Patience);
        Assert.True(healthy == 0, healthyOutput);

        broker.Stop();
        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == Status.NotServing, Patience, service + " to be NOT_SERVING");
        var (unhealthy, _) = await ServiceProcess.RunAsync(service, ["health", "--urls", url], ServiceEnvironment.Empty, Patience);
        Assert.Equal(1, unhealthy);

        broker.Start();
        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == Status.Serving, Patience, service + " to recover");
    }

    [Fact]
    public async Task Health_verb_fails_when_nothing_answers()
    {
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        var (code, output) = await ServiceProcess.RunAsync("AstraPbx.Routing", ["health", "--urls", url], ServiceEnvironment.Empty, Patience);
        Assert.Equal(1, code);
        Assert.Contains("unreachable", output, StringComparison.Ordinal);
    }
}
