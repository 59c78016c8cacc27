using AstraPbx.LocalRun;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.Foundation.Tests;

/// <summary>A bad setting stops the service at start, with a message naming the setting and not its value.</summary>
public sealed class StartupSettingsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static TheoryData<string> Services => new("AstraPbx.AriIngress", "AstraPbx.Routing", "AstraPbx.MediaRelay");

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Missing_broker_connection_string_stops_the_service_naming_the_setting(string service)
    {
        await using var env = await ServiceEnvironment.ForAsync(service, rabbitmq: null);
        var (code, output) = await ServiceProcess.RunAsync(service, ["--urls", $"http://127.0.0.1:{ServiceProcess.FreePort()}"], env.Variables, Patience);
        Assert.NotEqual(0, code);
        Assert.Contains("ConnectionStrings:rabbitmq' is missing", output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task Malformed_broker_url_stops_the_service_without_printing_the_password(string service)
    {
        await using var env = await ServiceEnvironment.ForAsync(service, "http://astrapbx:hunter2-secret@127.0.0.1:5672/");
        var (code, output) = await ServiceProcess.RunAsync(service, ["--urls", $"http://127.0.0.1:{ServiceProcess.FreePort()}"], env.Variables, Patience);
        Assert.NotEqual(0, code);
        Assert.Contains("ConnectionStrings:rabbitmq' is not an amqp:// or amqps:// URL", output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", output, StringComparison.Ordinal);
    }
}
