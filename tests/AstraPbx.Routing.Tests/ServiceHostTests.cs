using AstraPbx.Routing.Cli;
using AstraPbx.ServiceDefaults;
using Xunit;

namespace AstraPbx.Routing.Tests;

public sealed class ServiceHostTests
{
    [Fact]
    public async Task A_maintenance_verb_runs_instead_of_the_service()
    {
        var built = false;

        // `dialplan` without --out is refused (exit code 2) before anything touches the database.
        var code = await ServiceHost.RunAsync(["dialplan"], _ => built = true, commands: [new RoutingCommand()]);

        Assert.Equal(2, code);
        Assert.False(built);
    }
}
