using System.Diagnostics;
using System.Net.WebSockets;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>A bot that fails, errors or goes silent mid-call: the relay resets the AudioSocket connection (RST, no
/// 0x00, no FIN) so <c>TryExec(AudioSocket(...))</c> gives <c>TRYSTATUS=FAILED</c> and the dialplan falls back
/// (issue 12, PROTOCOLS.md 1). <see cref="CallerEnd.ConnectionLost"/> is what the simulated Asterisk sees on a reset;
/// a FIN would be <see cref="CallerEnd.RelayClosed"/>, a 0x00 <see cref="CallerEnd.RelayHungUp"/>.</summary>
public sealed class GatewayFailureTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("abort", "gateway-failed")]
    [InlineData("close-1011", "gateway-close-error")]
    [InlineData("close-4000", "gateway-close-error")]
    public async Task A_failed_bot_resets_the_AudioSocket_so_the_dialplan_falls_back(string how, string reason)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString(), MediaMode.Twilio);
        var bot = await gateway.NextSession(Long);
        await using var caller = await relay.DialAsync(ready!.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        switch (how)
        {
            case "abort":
                bot.Abort();
                break;
            case "close-1011":
                await bot.CloseAsync(WebSocketCloseStatus.InternalServerError, "boom");
                break;
            default:
                await bot.CloseAsync((WebSocketCloseStatus)4000, "app error");
                break;
        }

        await AssertResetAsync(caller);
        var ended = await relay.Ended(ready.SessionId);
        Assert.Equal(SessionEndedBy.Gateway, ended.EndedBy);
        Assert.Equal(reason, ended.Reason);
    }

    [Fact]
    public async Task A_partitioned_bot_is_detected_by_the_keepalive_and_the_AudioSocket_is_reset()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var proxy = new TcpProxy(gateway.Url.Host, gateway.Url.Port);
        proxy.Start();
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?>
        {
            ["Relay:GatewayKeepAliveInterval"] = "00:00:01",
            ["Relay:GatewayKeepAliveTimeout"] = "00:00:01",
        });
        var url = new UriBuilder(gateway.Url) { Port = proxy.Port }.Uri;
        var (ready, _) = await relay.PrepareAsync(url.ToString());
        var bot = await gateway.NextSession(Long);
        await using var caller = await relay.DialAsync(ready!.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        // The network between relay and bot stops carrying bytes; nothing is closed on either side.
        var frozenAt = Stopwatch.GetTimestamp();
        proxy.Freeze();

        await AssertResetAsync(caller);
        var detected = Stopwatch.GetElapsedTime(frozenAt);
        var ended = await relay.Ended(ready.SessionId);
        Assert.Equal("gateway-keepalive-timeout", ended.Reason);
        Assert.Equal(SessionEndedBy.Gateway, ended.EndedBy);

        // Interval + timeout is 2 s; the bound is generous for a loaded machine but far below "never" (150 s seen).
        Assert.True(detected < TimeSpan.FromSeconds(20), $"partition detected after {detected.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task A_bot_that_stops_reading_ends_the_session_as_failed_and_the_AudioSocket_is_reset()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?>
        {
            ["Relay:GatewayKeepAliveInterval"] = "00:00:01",
            ["Relay:GatewayKeepAliveTimeout"] = "00:00:01",
            ["Relay:GatewaySendTimeout"] = "00:00:01",
        });
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);
        await using var caller = await relay.DialAsync(ready!.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        bot.StopReading();

        await AssertResetAsync(caller);
        var ended = await relay.Ended(ready.SessionId);

        // Which bound fires first depends on the socket buffers: the unanswered ping, or the send that no longer completes.
        Assert.Contains(ended.Reason, new[] { "gateway-keepalive-timeout", "gateway-send-timeout" });
        Assert.Equal(SessionEndedBy.Gateway, ended.EndedBy);
    }

    [Fact]
    public async Task A_send_the_bot_does_not_take_within_the_send_timeout_ends_the_session_as_gateway_send_timeout()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?>
        {
            // The keepalive is out of the way: only the bounded send can notice this bot.
            ["Relay:GatewayKeepAliveInterval"] = "00:05:00",
            ["Relay:GatewayKeepAliveTimeout"] = "00:05:00",
            ["Relay:GatewaySendTimeout"] = "00:00:01",
        });
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);
        await using var raw = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await raw.SendAsync(RawCaller.Uuid(ready!.SessionId), RawCaller.Frame(AudioSocketKind.Slin, new byte[320]));
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        bot.StopReading();

        // Large frames, unpaced, fill the socket buffers between relay and bot in moments instead of minutes.
        var big = RawCaller.Frame(AudioSocketKind.Slin, new byte[8000]);
        var ended = relay.Ended(ready.SessionId);
        var resetSeenBySend = false;
        while (!ended.IsCompleted && !raw.Closed.IsCompleted)
        {
            try
            {
                await raw.SendAsync(big).WaitAsync(Long);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                // The reset's error goes to whichever call meets it first: this write, or the read.
                resetSeenBySend = e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset;
                break;
            }
        }

        Assert.Equal("gateway-send-timeout", (await ended).Reason);
        Assert.False(await raw.Closed.Within(Long, "the AudioSocket end"), "no 0x00");
        Assert.True(raw.EndedWithReset || resetSeenBySend, "a reset, so the dialplan falls back");
    }

    [Fact]
    public async Task A_bot_stop_hangs_up_with_0x00_then_a_graceful_close_not_a_reset()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);
        await using var raw = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await raw.SendAsync(RawCaller.Uuid(ready!.SessionId), RawCaller.Frame(AudioSocketKind.Slin, new byte[320]));
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        await bot.SendStopAsync();

        Assert.True(await raw.Closed.Within(Long, "the relay's 0x00 and close"), "0x00 before the end of the stream");
        Assert.False(raw.EndedWithReset, "a graceful close (FIN), not a reset");
        Assert.Equal("gateway-stop", (await relay.Ended(ready.SessionId)).Reason);
    }

    private static async Task AssertResetAsync(AudioSocketCaller caller)
    {
        Assert.Equal(CallerEnd.ConnectionLost, await caller.Ended.Within(Long, "the AudioSocket reset"));
        Assert.DoesNotContain(caller.Received, f => f.Kind == AudioSocketKind.Hangup);
    }
}
