using AstraPbx.LocalRun;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.EndToEnd.Tests;

/// <summary>The product deployed once per test class: the three services as processes on a fresh virtual host and
/// database, the Asterisk simulator, an echoing AI gateway and an OTLP receiver. Derived fixtures vary the relays.</summary>
public abstract class DeploymentFixture : IAsyncLifetime
{
    private readonly RabbitMqFixture _rabbit = new();
    private readonly PostgresFixture _postgres = new();

    public LocalDeployment Deployment { get; private set; } = null!;

    /// <summary>The deployment's broker (its own virtual host), for a test that listens to the services' events.</summary>
    public string RabbitMq { get; private set; } = "";

    protected virtual int Relays => 1;

    /// <summary>Settings of every relay process; null keeps the deployment's defaults (load-aware admission off).</summary>
    protected virtual IReadOnlyDictionary<string, string?>? RelaySettings => null;

    // Longer than the product's 5 s default: the first calls after start pay JIT and connection setup on a loaded 2-core machine.
    protected virtual TimeSpan StartSessionTimeout => TimeSpan.FromSeconds(15);

    // Well above StartSessionTimeout: the ingress's edge fallback (2.5 s by default) would otherwise take the cold-start
    // calls these tests wait 15 s for, and their assertions are about Routing's decisions, not the edge's.
    protected virtual TimeSpan EdgeFallbackAfter => TimeSpan.FromSeconds(30);

    public async Task InitializeAsync()
    {
        await _rabbit.InitializeAsync();
        await _postgres.InitializeAsync();
        RabbitMq = await _rabbit.CreateVirtualHostAsync("e2e");
        Deployment = await LocalDeployment.StartAsync(new LocalDeploymentOptions
        {
            RabbitMq = RabbitMq,
            Postgres = await _postgres.CreateDatabaseAsync("e2e"),
            Relays = Relays,
            StartSessionTimeout = StartSessionTimeout,
            EdgeFallbackAfter = EdgeFallbackAfter,
            Gateway = new FakeGatewayOptions { Behavior = GatewayBehavior.Echo },
            RelaySettings = RelaySettings ?? new LocalDeploymentOptions { RabbitMq = "", Postgres = "" }.RelaySettings,
            WarmupSettleRounds = 0,
        });
    }

    public async Task DisposeAsync()
    {
        if (Deployment is not null)
        {
            // Kept for reading after a failure: what each service printed.
            await Deployment.WriteLogsAsync(Path.Combine(TestEnvironment.RepoRoot, ".infra", "test-results", "e2e-logs"), GetType().Name);
            await Deployment.DisposeAsync();
        }

        await _postgres.DisposeAsync();
        await _rabbit.DisposeAsync();
    }
}

public sealed class OneRelayDeployment : DeploymentFixture;

public sealed class NoRelayDeployment : DeploymentFixture
{
    protected override int Relays => 0;

    protected override TimeSpan StartSessionTimeout => TimeSpan.FromSeconds(2);
}

public sealed class TwoRelayDeployment : DeploymentFixture
{
    protected override int Relays => 2;
}

/// <summary>One relay of its own, for a test that SIGKILLs it (the other classes keep theirs).</summary>
public sealed class RelayKillDeployment : DeploymentFixture;
