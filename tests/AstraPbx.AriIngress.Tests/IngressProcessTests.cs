using AstraPbx.LocalRun;
using AstraPbx.Simulators.Ari;
using AstraPbx.Testing;
using Xunit;
using Status = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace AstraPbx.AriIngress.Tests;

/// <summary>The ingress as its own process, configured by environment variables as a deployment does.</summary>
public sealed class IngressProcessTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Process_serves_health_only_while_the_ARI_socket_is_open_and_never_prints_the_password()
    {
        var vhost = await rabbit.CreateVirtualHostAsync("ari-process");
        await using var asterisk = await AsteriskSimulator.StartAsync(new AsteriskSimulatorOptions { Password = "pw-" + Guid.NewGuid().ToString("N") });
        var (bus, recorder) = await BusRecorder.StartAsync(vhost);
        await using var _ = bus;
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        await using var ingress = ServiceProcess.Start("AstraPbx.AriIngress", ["--urls", url], new Dictionary<string, string?>
        {
            ["ConnectionStrings__rabbitmq"] = vhost,
            ["Ari__BaseUrl"] = asterisk.BaseUrl,
            ["Ari__Username"] = asterisk.Options.Username,
            ["Ari__Password"] = asterisk.Options.Password,
            ["Ari__ReconnectMaxDelay"] = "00:00:01",
        });

        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == Status.Serving, Patience, "SERVING\n" + ingress.OutputText);
        var call = await asterisk.StartCallAsync(new SimulatedCallOptions { StasisArgs = "ai_agent,3" });
        await recorder.EnteredAsync(call.ChannelId, Patience);

        await asterisk.PauseEventSocketsAsync();
        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == Status.NotServing, Patience, "NOT_SERVING without the ARI socket");
        asterisk.ResumeEventSockets();
        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == Status.Serving, Patience, "SERVING again");

        Assert.DoesNotContain(asterisk.Options.Password, ingress.OutputText, StringComparison.Ordinal);
        Assert.Contains("ARI events socket open", ingress.OutputText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_password_stops_the_process_naming_the_setting()
    {
        var (code, output) = await ServiceProcess.RunAsync("AstraPbx.AriIngress", ["--urls", $"http://127.0.0.1:{ServiceProcess.FreePort()}"],
            new Dictionary<string, string?> { ["ConnectionStrings__rabbitmq"] = "amqp://guest:guest@127.0.0.1:1/" }, Patience);
        Assert.NotEqual(0, code);
        Assert.Contains("Setting 'Ari:Password' is missing.", output, StringComparison.Ordinal);
    }
}
