using AstraPbx.Simulators.Ari;
using Xunit;

namespace AstraPbx.AriIngress.Tests;

/// <summary>The simulator warms its REST routes before it reports started (Asterisk answers its first call as fast as
/// any other; a cold route here added 50 ms to the first call's measured setup), and the warm-up leaves no trace a test
/// could trip on: no call, no authentication failure, no command counted against a call.</summary>
public sealed class SimulatorWarmupTests
{
    [Fact]
    public async Task Starting_sends_each_REST_route_one_request_that_reaches_it_with_its_own_credentials_and_leaves_no_call()
    {
        await using var asterisk = await AsteriskSimulator.StartAsync();

        Assert.Equal(9, asterisk.RequestsServed);
        Assert.Equal(0, asterisk.AuthenticationFailures);
        Assert.Empty(asterisk.Calls);
    }
}
