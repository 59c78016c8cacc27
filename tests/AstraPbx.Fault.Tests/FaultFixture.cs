using AstraPbx.LocalRun.Faults;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.Fault.Tests;

/// <summary>One private broker and database and one deployment on them for the whole fault suite: the scenarios run
/// one after the other on it (xUnit runs a class's tests in sequence), each putting back what it broke.</summary>
public sealed class FaultFixture : IAsyncLifetime
{
    /// <summary>Calls per fault: a handful, each counted (the runner places more).</summary>
    public const int Calls = 4;

    /// <summary>Hard limit per scenario, generous for a loaded 2-core machine.</summary>
    private static readonly TimeSpan ScenarioTimeout = TimeSpan.FromMinutes(4);

    /// <summary>How long the records get to settle after the last hangup (a restarted broker or database included).</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(60);

    public FaultRig Rig { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // The services' own defaults (edge fallback, start-session timeout): the suite checks the product as shipped.
        Rig = await FaultRig.StartAsync(new FaultRigOptions());
    }

    public Task<FaultReport> RunAsync(FaultScenario scenario) => FaultRunner.RunAsync(Rig, scenario, Calls, ScenarioTimeout, Settle);

    public async Task DisposeAsync()
    {
        if (Rig is not null)
        {
            // Kept for reading after a failure: what each service printed, and the broker's and database's own logs.
            await Rig.WriteLogsAsync(Path.Combine(TestEnvironment.RepoRoot, ".infra", "test-results", "fault-logs"), "faults");
            await Rig.DisposeAsync();
        }
    }
}
