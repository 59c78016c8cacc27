using AstraPbx.Simulators.Gateway;

namespace AstraPbx.LocalRun;

/// <summary>What to run: where the broker and the database are, and how the pieces behave.</summary>
public sealed class LocalDeploymentOptions
{
    /// <summary>AMQP connection string (its own virtual host in tests).</summary>
    public required string RabbitMq { get; init; }

    /// <summary>Npgsql connection string of the routing database (created empty; migrated and seeded here).</summary>
    public required string Postgres { get; init; }

    /// <summary>Media relays to start (0 for the "no relay running" case).</summary>
    public int Relays { get; init; } = 1;

    /// <summary>How the AI gateway (the bot) behaves.</summary>
    public FakeGatewayOptions Gateway { get; init; } = new() { Behavior = GatewayBehavior.Echo };

    /// <summary>Where Routing sends a call it cannot follow (the seed's reception queue, 5001).</summary>
    public string FallbackExtension { get; init; } = "5001";

    /// <summary>Routing's wait for a relay's answer to StartAiSession (<c>Routing__StartSessionTimeout</c>); null
    /// leaves Routing's own default.</summary>
    public TimeSpan? StartSessionTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Routing processes to start (each a competing consumer of the same queues).</summary>
    public int RoutingInstances { get; init; } = 1;

    /// <summary>Give the ingress an edge fallback (<c>Ari__EdgeFallbackContext/Extension/Priority</c>) to the same
    /// target as Routing's fallback (the seed's internal context, <see cref="FallbackExtension"/>); false leaves it
    /// unset, so the ingress hangs up when no command comes in time.</summary>
    public bool EdgeFallback { get; init; } = true;

    /// <summary>How long the ingress waits for a command after a Stasis entry before it takes its edge fallback
    /// (<c>Ari__EdgeFallbackAfter</c>); null leaves the ingress's own default.</summary>
    public TimeSpan? EdgeFallbackAfter { get; init; }

    /// <summary>More settings for every Routing process (environment variable name to value, e.g.
    /// <c>Routing__ClaimLease</c>).</summary>
    public IReadOnlyDictionary<string, string?> RoutingSettings { get; init; } = new Dictionary<string, string?>();

    /// <summary>More settings for every relay process (environment variable name to value). By default load-aware
    /// admission is off (<c>Relay__Capacity__Enabled=false</c>): the tests and the demo run every service and the
    /// simulators on one small, busy machine, whose tick lateness is the test run's, not a relay's; a deployment that
    /// tests admission passes its own limits.</summary>
    public IReadOnlyDictionary<string, string?> RelaySettings { get; init; } = new Dictionary<string, string?> { ["Relay__Capacity__Enabled"] = "false" };

    /// <summary>More settings for the ingress process.</summary>
    public IReadOnlyDictionary<string, string?> IngressSettings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Every service's warm-up rounds (<c>Warmup__SettleRounds</c>): null leaves the services' default (the demo
    /// and its benchmarks); 0 starts them after the first pass, as the tests and fault runs do (they start many
    /// deployments and measure no first-call time).</summary>
    public int? WarmupSettleRounds { get; init; }

    /// <summary>The relay's drain timeout.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Send every service's spans to this OTLP/gRPC endpoint; the deployment's own receiver when null and
    /// <see cref="ReceiveTraces"/> is set.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>Start an in-process OTLP receiver and point the services at it.</summary>
    public bool ReceiveTraces { get; init; } = true;

    /// <summary>Progress lines (the demo prints them).</summary>
    public Action<string>? Log { get; init; }
}
