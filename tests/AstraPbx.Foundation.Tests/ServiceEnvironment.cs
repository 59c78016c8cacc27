using AstraPbx.Simulators.Ari;
using AstraPbx.Testing;

namespace AstraPbx.Foundation.Tests;

/// <summary>The dependencies each service needs to start and be healthy, beyond the broker: an Asterisk (simulated)
/// for the ingress, a database for Routing.</summary>
internal sealed class ServiceEnvironment : IAsyncDisposable
{
    public static readonly IReadOnlyDictionary<string, string?> Empty = new Dictionary<string, string?>();

    private AsteriskSimulator? _asterisk;

    private ServiceEnvironment(Dictionary<string, string?> variables) => Variables = variables;

    public Dictionary<string, string?> Variables { get; }

    public static async Task<ServiceEnvironment> ForAsync(string service, string? rabbitmq, PostgresFixture? postgres = null)
    {
        var environment = new ServiceEnvironment(new Dictionary<string, string?> { ["ConnectionStrings__rabbitmq"] = rabbitmq });
        switch (service)
        {
            case "AstraPbx.AriIngress":
                environment._asterisk = await AsteriskSimulator.StartAsync();
                environment.Variables["Ari__BaseUrl"] = environment._asterisk.BaseUrl;
                environment.Variables["Ari__Password"] = environment._asterisk.Options.Password;
                break;
            case "AstraPbx.Routing":
                environment.Variables["ConnectionStrings__postgres"] = postgres is null
                    ? "Host=127.0.0.1;Port=1;Username=none;Database=none"
                    : await postgres.CreateDatabaseAsync("health");
                break;
        }

        return environment;
    }

    public async ValueTask DisposeAsync()
    {
        if (_asterisk is not null)
        {
            await _asterisk.DisposeAsync();
        }
    }
}
