using System.Net.WebSockets;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Whole calls through a relay on a real broker, real sockets and the real clock: Asterisk simulated by
/// <see cref="AudioSocketCaller"/>, the bot by <see cref="FakeGateway"/>.</summary>
public sealed class EndToEndTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(MediaMode.AstraPbxBinary, "astrapbx")]
    [InlineData(MediaMode.Twilio, "twilio")]
    public async Task Relay_carries_a_call_both_ways_and_the_caller_hangup_stops_the_gateway(MediaMode mode, string provider)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var relay = await RelayHost.StartAsync(rabbit);

        var (ready, failed) = await relay.PrepareAsync(gateway.Url.ToString(), mode, custom: new Dictionary<string, string> { ["lang"] = "de" });
        Assert.Null(failed);
        Assert.Equal(relay.Endpoints.Advertised, ready!.RelayEndpoint);
        var bot = await gateway.NextSession(Long);

        // Handshake exactly as PROTOCOLS.md 2.
        Assert.Equal("connected", bot.Connected!.RootElement.GetProperty("event").GetString());
        var start = bot.Start!.RootElement.GetProperty("start");
        Assert.Equal("asterisk_" + ready.CallId, start.GetProperty("streamSid").GetString());
        Assert.Equal(ready.CallId, start.GetProperty("callSid").GetString());
        Assert.Equal(mode == MediaMode.Twilio ? "audio/x-mulaw" : "audio/x-l16", start.GetProperty("mediaFormat").GetProperty("encoding").GetString());
        Assert.Equal(provider, bot.CustomParameters["provider"]);
        Assert.Equal("de", bot.CustomParameters["lang"]);
        Assert.Equal(ready.CallId, bot.CustomParameters["channel_id"]);
        Assert.Equal(mode, bot.Mode);

        await using var caller = await relay.DialAsync(ready.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");
        await Wait.Until(() => caller.Received.Any(f => f.Kind == AudioSocketKind.Slin && f.Payload.Any(b => b != 0)), "echoed audio at the caller");
        Assert.All(caller.Received, f => Assert.Equal(AudioSocketKind.Slin, f.Kind));
        Assert.All(caller.Received, f => Assert.Equal(320, f.Payload.Length));

        await caller.HangUpAsync();
        var stop = await bot.NextText(t => t.Contains("\"stop\""), Long);
        Assert.Contains("asterisk_" + ready.CallId, stop);
        await bot.Closed.Within(Long, "the gateway WebSocket to close");
        Assert.Equal(WebSocketCloseStatus.NormalClosure, bot.CloseStatus);

        var ended = await relay.Ended(ready.SessionId);
        Assert.Equal(SessionEndedBy.Caller, ended.EndedBy);
        Assert.Equal("caller-closed", ended.Reason);
        Assert.True(ended.FramesToGateway > 0 && ended.FramesToCaller > 0, $"{ended.FramesToGateway} / {ended.FramesToCaller}");
        Assert.Equal(ended.FramesToGateway * 320, ended.BytesToGateway);
        Assert.Equal(ended.FramesToCaller * 320, ended.BytesToCaller);
        Assert.Equal("relay-test", ended.RelayInstance);
    }

    [Fact]
    public async Task Slin16_caller_in_Twilio_mode_is_resampled_to_8_kHz_mu_law_for_the_gateway_and_back_to_16_kHz()
    {
        // Twilio defines its media as 8 kHz mu-law: a 16 kHz caller keeps the resampling in this mode (binary mode
        // carries 16 kHz through, WidebandTests).
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString(), MediaMode.Twilio, callerSampleRate: 16000);
        var bot = await gateway.NextSession(Long);
        Assert.Equal(MediaMode.Twilio, bot.Mode);
        Assert.Equal(8000, relay.Session(ready!.SessionId).GatewayRate);

        await using var caller = await relay.DialAsync(ready.SessionId, new ToneSource(440, 16000), AudioSocketKind.Slin16);
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");
        await Wait.Until(() => caller.Received.Any(f => f.Payload.Any(b => b != 0)), "echoed audio at the caller");

        // 640-byte 16 kHz frames in, 160 mu-law bytes (320 bytes of 8 kHz PCM) per media event to the gateway; 0x12
        // frames of 640 bytes back.
        await Wait.Until(() => bot.AudioFramesReceived >= 5, "five frames at the gateway");
        var frames = bot.AudioFramesReceived;
        var bytes = bot.AudioBytesReceived;
        Assert.True(bytes <= frames * 320 && bytes >= (frames - 1) * 320, $"{bytes} PCM bytes in {frames} media events");
        Assert.Equal(0, bytes % 320);
        Assert.All(caller.Received, f => Assert.Equal(AudioSocketKind.Slin16, f.Kind));
        Assert.All(caller.Received, f => Assert.Equal(640, f.Payload.Length));
        await caller.HangUpAsync();
        var ended = await relay.Ended(ready.SessionId);
        Assert.Equal(SessionEndedBy.Caller, ended.EndedBy);
        Assert.Equal(ended.FramesToGateway * 640, ended.BytesToGateway);
        Assert.Equal(ended.FramesToCaller * 640, ended.BytesToCaller);
    }

    [Theory]
    [InlineData(MediaMode.AstraPbxBinary)]
    [InlineData(MediaMode.Twilio)]
    public async Task Dtmf_from_Asterisk_is_forwarded_as_a_dtmf_event(MediaMode mode)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString(), mode);
        var bot = await gateway.NextSession(Long);
        await using var caller = await relay.DialAsync(ready!.SessionId);

        await caller.SendDtmfAsync('5');
        await caller.SendDtmfAsync('#');
        var five = await bot.NextText(t => t.Contains("\"dtmf\""), Long);
        var hash = await bot.NextText(t => t.Contains("\"dtmf\""), Long);
        Assert.Equal("{\"event\":\"dtmf\",\"streamSid\":\"asterisk_" + ready.CallId + "\",\"dtmf\":{\"digit\":\"5\"}}", five);
        Assert.Contains("\"digit\":\"#\"", hash);
    }

    [Theory]
    [InlineData("stop", "gateway-stop")]
    [InlineData("close", "gateway-closed")]
    [InlineData("going-away", "gateway-closed")]
    public async Task Gateway_ending_the_call_sends_hangup_to_Asterisk(string how, string reason)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString(), MediaMode.Twilio);
        var bot = await gateway.NextSession(Long);
        await using var caller = await relay.DialAsync(ready!.SessionId);
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        switch (how)
        {
            case "stop":
                await bot.SendStopAsync();
                break;
            case "close":
                await bot.CloseAsync();
                break;
            default:
                await bot.CloseAsync(WebSocketCloseStatus.EndpointUnavailable);
                break;
        }

        Assert.Equal(CallerEnd.RelayHungUp, await caller.Ended.Within(Long, "the relay's hangup at the caller"));
        Assert.Equal(AudioSocketKind.Hangup, caller.Received.Last().Kind);
        Assert.DoesNotContain(caller.Received, f => !AudioSocketFormat.IsAudio(f.Kind) && f.Kind != AudioSocketKind.Hangup);
        var ended = await relay.Ended(ready.SessionId);
        Assert.Equal(SessionEndedBy.Gateway, ended.EndedBy);
        Assert.Equal(reason, ended.Reason);
    }
}
