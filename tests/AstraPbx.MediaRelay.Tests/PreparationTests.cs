using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary><c>StartAiSession</c> over the real broker: every failure is answered with its specific reason.</summary>
public sealed class PreparationTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("http://bots.example/ws")]
    [InlineData("not a url")]
    [InlineData("ws:///nohost")]
    public async Task Invalid_url_is_answered_invalid_url(string url)
    {
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (_, failed) = await relay.PrepareAsync(url);
        Assert.Equal(AiSessionFailure.InvalidUrl, failed!.Reason);
    }

    [Fact]
    public async Task Refused_connection_is_answered_refused()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (_, failed) = await relay.PrepareAsync($"ws://127.0.0.1:{port}/ws/org/bot?key=ak_refused");
        Assert.Equal(AiSessionFailure.Refused, failed!.Reason);
        Assert.DoesNotContain("ak_", failed.Detail);
    }

    [Fact]
    public async Task Unresolvable_host_is_answered_dns()
    {
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (_, failed) = await relay.PrepareAsync("ws://no-such-host.invalid/ws?key=ak_dns");
        Assert.Equal(AiSessionFailure.Dns, failed!.Reason);
    }

    [Fact]
    public async Task Rejected_upgrade_is_answered_handshake_rejected()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { RejectWithStatus = 403 });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (_, failed) = await relay.PrepareAsync(gateway.Url.ToString());
        Assert.Equal(AiSessionFailure.HandshakeRejected, failed!.Reason);
        Assert.Contains("403", failed.Detail);
    }

    [Fact]
    public async Task Stalled_upgrade_is_answered_timeout()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { StallHandshake = true });
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?> { ["Relay:GatewayConnectTimeout"] = "00:00:01" });
        var (_, failed) = await relay.PrepareAsync(gateway.Url.ToString());
        Assert.Equal(AiSessionFailure.Timeout, failed!.Reason);
    }

    [Fact]
    public async Task A_request_Routing_gave_up_on_frees_its_preparation_slot_for_the_next_call()
    {
        // One slot, and a bot that accepts TCP and never answers: the connect timeout alone would hold the slot 60 s.
        await using var silent = await FakeGateway.StartAsync(new FakeGatewayOptions { StallHandshake = true });
        await using var echo = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?>
        {
            ["Relay:GatewayConnectTimeout"] = "00:01:00",
            ["Relay:PrepareConcurrency"] = "1",
        });

        await Assert.ThrowsAsync<MassTransit.RequestTimeoutException>(() => relay.PrepareAsync(silent.Url.ToString(), timeout: TimeSpan.FromSeconds(1)));
        var (ready, failed) = await relay.PrepareAsync(echo.Url.ToString(), timeout: TimeSpan.FromSeconds(30));

        Assert.Null(failed);
        Assert.NotNull(ready);
    }

    [Fact]
    public async Task Beyond_max_sessions_is_answered_over_capacity()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?> { ["Relay:MaxSessions"] = "1" });
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        Assert.NotNull(ready);
        var (_, failed) = await relay.PrepareAsync(gateway.Url.ToString());
        Assert.Equal(AiSessionFailure.OverCapacity, failed!.Reason);
    }

    [Fact]
    public async Task Same_request_delivered_twice_gets_the_same_session_and_one_gateway_connection()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var id = Guid.NewGuid();
        var (first, _) = await relay.PrepareAsync(gateway.Url.ToString(), sessionId: id);
        var (second, _) = await relay.PrepareAsync(gateway.Url.ToString(), sessionId: id);
        Assert.Equal(first!.RelayEndpoint, second!.RelayEndpoint);
        Assert.Equal(1, gateway.ConnectionAttempts);
    }

    [Fact]
    public async Task Unclaimed_session_expires_closes_its_gateway_and_is_reported()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?> { ["Relay:PendingSessionExpiry"] = "00:00:01" });
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);

        var ended = await relay.Ended(ready!.SessionId);
        Assert.Equal(SessionEndedBy.NotClaimed, ended.EndedBy);
        Assert.Equal("not-claimed", ended.Reason);
        await bot.Closed.Within(Long, "the gateway closed");
        Assert.Equal(WebSocketCloseStatus.NormalClosure, bot.CloseStatus);
    }
}
