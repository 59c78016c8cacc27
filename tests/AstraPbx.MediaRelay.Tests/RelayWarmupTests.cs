using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Warmup;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>The relay's warm-up runs a synthetic session over its own loopback WebSocket echo to the end.</summary>
public sealed class RelayWarmupTests
{
    [Fact]
    public async Task Warmup_runs_a_session_through_the_gateway_leg_and_the_playout_writer()
    {
        var options = Options.Create(new RelayOptions());
        using var connector = new GatewayConnector(options);
        var step = new RelayPathWarmup(connector, options, NullLogger<RelayPathWarmup>.Instance);

        // Throws when the playout wrote no frame or the echo never came back; the timeout catches a hang.
        await step.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("relay-path", step.Name);
    }
}
