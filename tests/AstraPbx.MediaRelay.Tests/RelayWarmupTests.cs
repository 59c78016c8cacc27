using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.MediaRelay.Warmup;
using AstraPbx.ServiceDefaults.Warmup;
using AstraPbx.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>The relay's warm-up runs a synthetic session over its own loopback WebSocket echo to the end, prepares
/// two through a session preparer of its own without registering anything with the service, and has a caller of its own
/// claim the second on the service's playout clock until the echo plays back.</summary>
public sealed class RelayWarmupTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task The_first_pass_claims_a_session_on_the_real_clock_and_leaves_the_claim_out_under_a_fake_one()
    {
        var logs = new CapturingLoggerProvider();
        await using (var relay = await RelayHost.StartAsync(rabbit, logs: logs))
        {
            await ServiceWarmupDoneAsync(relay);
            var step = relay.Services.GetServices<IWarmupStep>().OfType<RelayPathWarmup>().Single();
            var before = WarmupClaims(logs);
            await step.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

            // The caller of the step's own was admitted by the relay's handler and its echo played back (the step throws
            // when no frame reached it); the repeated passes do not claim.
            Assert.Equal(before + 1, WarmupClaims(logs));
            await step.RepeatAsync(2, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(before + 1, WarmupClaims(logs));
            Assert.Equal(0, relay.Clock.TargetCount);
        }

        // Under a test's fake time nothing ticks a claimed session: the step would wait out its 10 s and fail.
        var fakeLogs = new CapturingLoggerProvider();
        await using (var relay = await RelayHost.StartAsync(rabbit, fakeClock: true, logs: fakeLogs))
        {
            var step = relay.Services.GetServices<IWarmupStep>().OfType<RelayPathWarmup>().Single();
            await step.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, WarmupClaims(fakeLogs));
        }
    }

    /// <summary>The relay's own warm-up at start runs on the same playout clock, and the host does not wait for it: a
    /// test's pass started beside it would count its claim, or find its session still on the clock (seen once in CI,
    /// <c>TargetCount</c> 1 after the test's pass).</summary>
    private static Task ServiceWarmupDoneAsync(RelayHost relay) =>
        relay.Services.GetRequiredService<WarmupState>().Done.WaitAsync(TimeSpan.FromSeconds(60));

    private static int WarmupClaims(CapturingLoggerProvider logs) =>
        logs.Lines.Count(l => l.StartsWith(typeof(AudioSocketConnectionHandler).FullName + " ", StringComparison.Ordinal) && l.Contains("CallId=warmup", StringComparison.Ordinal));

    [Fact]
    public async Task Warmup_runs_a_session_and_a_preparation_without_touching_the_relays_sessions()
    {
        await using var relay = await RelayHost.StartAsync(rabbit);
        await ServiceWarmupDoneAsync(relay);
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

        // Its claimed sessions (a caller over a loopback socket of the step's own, until the bot's echo played back)
        // were ticked by the service's clock and left it when they ended.
        Assert.Equal(0, relay.Clock.TargetCount);
    }
}
