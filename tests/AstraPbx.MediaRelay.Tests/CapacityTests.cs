using AstraPbx.Contracts.Media;
using AstraPbx.Contracts.RelayAdmin;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.ServiceDefaults.Warmup;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Grpc.Net.Client;
using MassTransit;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Issue 13, item 1: a relay whose next session would not fit stops taking <c>StartAiSession</c> (the request
/// stays on the queue for other relays), says so (RelayCapacity, admin API), and takes requests again once it has room.
/// The limit here is a CPU share no live session fits under, so the outcome does not depend on the machine's load.</summary>
public sealed class CapacityTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static readonly Dictionary<string, string?> TinyLimit = new()
    {
        ["Relay:Capacity:Enabled"] = "true",
        ["Relay:Capacity:CpuLimit"] = "0.0001",
        ["Relay:Capacity:Window"] = "00:00:00.500",
        ["Relay:Capacity:PublishInterval"] = "00:00:00.200",
    };

    /// <summary>One call with audio flowing, and the report without room that follows it (no session fits the limit).</summary>
    private static async Task<(AiSessionReady Ready, AudioSocketCaller Caller)> FillWithOneCallAsync(RelayHost relay, FakeGateway gateway)
    {
        await Wait.Until(() => relay.CapacityReports.Any(r => r.Accepting), "a report with room (no session yet)");
        var seen = relay.CapacityReports.Count;
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);
        var caller = await relay.DialAsync(ready!.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "the admitted call's audio");
        await Wait.Until(() => relay.CapacityReports.Skip(seen).Any(r => !r.Accepting), "a report without room");
        return (ready, caller);
    }

    [Fact]
    public async Task A_full_relay_leaves_requests_on_the_queue_says_why_and_takes_them_again_once_it_has_room()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var relay = await RelayHost.StartAsync(rabbit, TinyLimit);
        using var channel = GrpcChannel.ForAddress(relay.GrpcAddress);
        var admin = new RelayAdmin.RelayAdminClient(channel);

        var seen = relay.CapacityReports.Count;
        var (ready, caller) = await FillWithOneCallAsync(relay, gateway);
        await using var _ = caller;
        var full = relay.CapacityReports.Skip(seen).First(r => !r.Accepting);
        Assert.Equal("relay-test", full.RelayInstance);
        Assert.Contains(full.Limiter, new[] { "cpu", "lateness" });
        Assert.Equal(1, full.Sessions);
        Assert.True(full.Load > 1, $"load {full.Load}");
        var capacity = await admin.GetCapacityAsync(new GetCapacityRequest());
        Assert.False(capacity.Accepting);
        Assert.Equal(0, capacity.HeadroomSessions);

        // Full is not broken: the stopped endpoint does not make the relay NOT_SERVING (it would leave its ready
        // endpoints in Kubernetes while its calls go on).
        await Wait.Until(() => relay.Services.GetRequiredService<StartAiSessionEndpoint>().Paused, "the endpoint paused");
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        // Not consumed: the request waits on the queue (for another relay) until it expires.
        await Assert.ThrowsAsync<RequestTimeoutException>(() => relay.PrepareAsync(gateway.Url.ToString(), timeout: TimeSpan.FromSeconds(2)));
        Assert.Equal(1, relay.Registry.Reserved);

        // The admitted call is unaffected, and once it ends the relay has room again.
        var before = caller.Received.Count;
        await Wait.Until(() => caller.Received.Count > before + 10, "the admitted call keeps flowing");
        await caller.HangUpAsync();
        await relay.Ended(ready.SessionId);
        seen = relay.CapacityReports.Count;
        await Wait.Until(() => relay.CapacityReports.Skip(seen).Any(r => r.Accepting), "a report with room again");
        var (again, failed) = await relay.PrepareAsync(gateway.Url.ToString());
        Assert.Null(failed);
        Assert.NotNull(again);
    }

    [Fact]
    public async Task A_request_queued_while_the_relay_had_no_room_is_refused_once_it_resumes_not_prepared_for_nobody()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var relay = await RelayHost.StartAsync(rabbit, TinyLimit);
        var (ready, caller) = await FillWithOneCallAsync(relay, gateway);
        await using var _ = caller;
        await Wait.Until(() => relay.Services.GetRequiredService<StartAiSessionEndpoint>().Paused, "the endpoint paused");

        // Routing gives such a request up when every relay reports no room; here it waits on the queue meanwhile.
        var queued = relay.PrepareAsync(gateway.Url.ToString(), timeout: Long);
        await caller.HangUpAsync();
        await relay.Ended(ready.SessionId);

        var (late, refused) = await queued;
        Assert.Null(late);
        Assert.Equal(AiSessionFailure.OverCapacity, refused!.Reason);
        Assert.Contains("queued while this relay had no room", refused.Detail, StringComparison.Ordinal);
        Assert.Equal(0, relay.Registry.Reserved);

        var (again, failed) = await relay.PrepareAsync(gateway.Url.ToString());
        Assert.Null(failed);
        Assert.NotNull(again);
    }

    [Fact]
    public async Task A_relay_still_warming_up_takes_no_session_and_says_so_then_takes_them_once_warm()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        var held = new HeldWarmupStep();
        var settings = new Dictionary<string, string?>
        {
            ["Relay:Capacity:Enabled"] = "true",
            ["Relay:Capacity:PublishInterval"] = "00:00:00.200",
        };
        await using var relay = await RelayHost.StartAsync(rabbit, settings, services: s => s.AddSingleton<IWarmupStep>(held), waitForEndpoint: false);
        using var channel = GrpcChannel.ForAddress(relay.GrpcAddress);
        await held.Entered.Task.Within(Long, "the held warm-up step");

        // It says so, to Routing (which then sends the call to a relay with room, or to the fallback at once) and on the
        // admin API, and it is not SERVING.
        await Wait.Until(() => relay.CapacityReports.Count(r => !r.Accepting && r.Limiter == "warming-up") >= 2, "reports: warming up, repeated");
        var capacity = await new RelayAdmin.RelayAdminClient(channel).GetCapacityAsync(new GetCapacityRequest());
        Assert.False(capacity.Accepting);
        Assert.Equal("warming-up", capacity.Limiter);
        var health = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, health.Status);

        // It takes no request: this one waits on the queue (for a warm relay) until it expires, and nothing is reserved.
        await Assert.ThrowsAsync<RequestTimeoutException>(() => relay.PrepareAsync(gateway.Url.ToString(), timeout: TimeSpan.FromSeconds(2)));
        Assert.Equal(0, relay.Registry.Reserved);
        Assert.False(relay.Services.GetRequiredService<StartAiSessionEndpoint>().Ready.IsCompleted);

        // Warm: it has room, says so, and takes the next request.
        var seen = relay.CapacityReports.Count;
        held.Release.TrySetResult();
        await relay.Services.GetRequiredService<StartAiSessionEndpoint>().Ready.Within(Long, "the start-ai-session endpoint once warm");
        await Wait.Until(() => relay.CapacityReports.Skip(seen).Any(r => r.Accepting && r.Limiter == "none"), "a report with room");
        var (ready, failed) = await relay.PrepareAsync(gateway.Url.ToString());
        Assert.Null(failed);
        Assert.NotNull(ready);
    }

    /// <summary>A warm-up step that holds the warm-up until the test releases it.</summary>
    private sealed class HeldWarmupStep : IWarmupStep
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "held";

        public Task RunAsync(CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            return Release.Task.WaitAsync(cancellationToken);
        }
    }
}
