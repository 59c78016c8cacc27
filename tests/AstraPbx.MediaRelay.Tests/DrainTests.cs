using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.Contracts.RelayAdmin;
using AstraPbx.MediaRelay.Sessions;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Drain (admin API and SIGTERM), health and the admin API.</summary>
public sealed class DrainTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Admin_drain_reports_not_serving_lets_live_calls_run_then_ends_them_with_hangup()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var relay = await RelayHost.StartAsync(rabbit);
        using var channel = GrpcChannel.ForAddress(relay.GrpcAddress);
        var admin = new RelayAdmin.RelayAdminClient(channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            await Eventually.Until(() => GrpcHealth.CheckAsync(relay.GrpcAddress), s => s == HealthCheckResponse.Types.ServingStatus.Serving, Long, "SERVING"));

        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString(), MediaMode.Twilio);
        var bot = await gateway.NextSession(Long);
        await using var caller = await relay.DialAsync(ready!.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        var listed = await admin.ListSessionsAsync(new ListSessionsRequest());
        var info = Assert.Single(listed.Sessions);
        Assert.Equal("live", info.State);
        Assert.Equal("twilio", info.MediaMode);
        Assert.EndsWith("?key=***", info.Gateway);
        Assert.Equal(ready.CallId, info.CallId);

        var drain = await admin.StartDrainAsync(new StartDrainRequest { TimeoutSeconds = 3 });
        Assert.True(drain.Draining);
        Assert.Equal(1, drain.LiveSessions);
        await Eventually.Until(() => GrpcHealth.CheckAsync(relay.GrpcAddress), s => s == HealthCheckResponse.Types.ServingStatus.NotServing, Long, "NOT_SERVING while draining");

        // New sessions are refused while draining; the live call keeps flowing until the drain timeout.
        var refused = await relay.Services.GetRequiredService<SessionPreparer>().PrepareAsync(new StartAiSession
        {
            CallId = "late", AsteriskId = "ast-1", SessionId = Guid.NewGuid(), GatewayUrl = gateway.Url.ToString(),
        }, CancellationToken.None);
        Assert.Equal(AiSessionFailure.Draining, refused.Failed!.Reason);
        var before = caller.Received.Count;
        await Wait.Until(() => caller.Received.Count > before + 10, "the live call still flowing while draining");

        // Issue 12: a drain hands the caller to the dialplan's fallback (reset), it does not hang them up.
        Assert.Equal(CallerEnd.ConnectionLost, await caller.Ended.Within(Long, "the reset at the drain timeout"));
        Assert.DoesNotContain(caller.Received, f => f.Kind == AudioSocketKind.Hangup);
        var ended = await relay.Ended(ready.SessionId);
        Assert.Equal(SessionEndedBy.Relay, ended.EndedBy);
        Assert.Equal("drain-timeout", ended.Reason);
        var stats = await admin.GetStatsAsync(new GetStatsRequest());
        Assert.True(stats.Draining);
        Assert.Equal(0, stats.LiveSessions);
        Assert.Equal(1, stats.SessionsStarted);
        Assert.True(stats.FramesToCaller > 0 && stats.FramesToGateway > 0);
    }

    [Fact]
    public async Task Sigterm_drains_live_calls_and_hands_them_to_the_fallback()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?> { ["Relay:DrainTimeout"] = "00:00:01" });
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);
        await using var caller = await relay.DialAsync(ready!.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        await relay.StopRelayAsync();

        // A reset, not 0x00 (issue 12: TRYSTATUS=FAILED, the dialplan falls back); the gateway got a clean close; the end
        // was still published.
        Assert.Equal(CallerEnd.ConnectionLost, await caller.Ended.Within(Long, "the reset on shutdown"));
        Assert.DoesNotContain(caller.Received, f => f.Kind == AudioSocketKind.Hangup);
        await bot.Closed.Within(Long, "the gateway closed");
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, bot.CloseStatus);
        Assert.Equal("drain-timeout", (await relay.Ended(ready.SessionId)).Reason);
    }
}
