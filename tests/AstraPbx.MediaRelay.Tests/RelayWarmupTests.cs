using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.MediaRelay.Warmup;
using AstraPbx.ServiceDefaults.Warmup;
using AstraPbx.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>The relay's warm-up runs a synthetic session over its own loopback WebSocket echo to the end, and prepares
/// one through a session preparer of its own without registering anything with the service.</summary>
public sealed class RelayWarmupTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task Warmup_runs_a_session_and_a_preparation_without_touching_the_relays_sessions()
    {
        await using var relay = await RelayHost.StartAsync(rabbit);
        var step = relay.Services.GetServices<IWarmupStep>().OfType<RelayPathWarmup>().Single();
        var started = relay.Registry.Started;

        // Throws when the playout wrote no frame, the echo never came back or the preparation failed; the timeout
        // catches a hang.
        await step.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        // The rounds run the same pass again, each on new loopback sockets.
        await step.RepeatAsync(3, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal("relay-path", step.Name);
        Assert.Equal(started, relay.Registry.Started);
        Assert.Equal(0, relay.Registry.PendingCount);
        Assert.Equal(0, relay.Registry.Reserved);
    }
}
