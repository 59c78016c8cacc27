using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Issue 12, item 1: the relay writes one frame per tick from the claim on, in the format the session was
/// prepared for, whether or not the caller ever sends audio (Asterisk ends an AudioSocket with no activity on either
/// side after 2 s; a silent caller sends nothing). The callers here send the UUID frame and nothing else unless said.</summary>
public sealed class CadenceTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static async Task<(GatewaySession Bot, Guid SessionId)> PrepareAsync(RelayHost relay, FakeGateway gateway, int callerSampleRate = 8000)
    {
        var (ready, failed) = await relay.PrepareAsync(gateway.Url.ToString(), MediaMode.AstraPbxBinary, callerSampleRate: callerSampleRate);
        Assert.Null(failed);
        return (await gateway.NextSession(Long), ready!.SessionId);
    }

    private static async Task<RawCaller> ClaimSilentlyAsync(RelayHost relay, Guid sessionId)
    {
        var caller = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await caller.SendAsync(RawCaller.Uuid(sessionId));
        await Wait.Until(() => relay.Session(sessionId).CallerAttached, "the claimed connection attached");
        return caller;
    }

    [Fact]
    public async Task A_silent_caller_hears_a_greeting_queued_before_the_claim_from_the_first_tick()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        var (bot, sessionId) = await PrepareAsync(relay, gateway);
        var greeting = TestPcm.Pattern(25);
        await bot.SendAudioAsync(greeting);
        await bot.SendMarkAsync("greeting-done");
        var session = relay.Session(sessionId);
        await Wait.Until(() => session.Jitter.Count == greeting.Length && session.Jitter.PendingMarks == 1, "the greeting and its mark buffered before the claim");

        await using var caller = await ClaimSilentlyAsync(relay, sessionId);
        await relay.TickAsync(26);
        await Wait.Until(() => caller.Frames.Count == 26, "one frame per tick");

        var frames = caller.Frames.ToArray();
        Assert.All(frames, f => Assert.Equal(AudioSocketKind.Slin, f.Kind));
        Assert.All(frames, f => Assert.Equal(320, f.Payload.Length));
        Assert.Equal(greeting, frames.Take(25).SelectMany(f => f.Payload).ToArray());
        Assert.All(frames[25].Payload, b => Assert.Equal(0, b));
        var mark = await bot.NextText(t => t.Contains("\"mark\"", StringComparison.Ordinal), Long);
        Assert.Contains("greeting-done", mark, StringComparison.Ordinal);
        Assert.Equal(0, bot.AudioFramesReceived);
        Assert.False(caller.Closed.IsCompleted, "the silent call is still up");
    }

    [Fact]
    public async Task A_silent_caller_with_a_silent_bot_gets_silence_frames_never_empty_ones()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        var (_, sessionId) = await PrepareAsync(relay, gateway);

        await using var caller = await ClaimSilentlyAsync(relay, sessionId);
        await relay.TickAsync(5);
        await Wait.Until(() => caller.Frames.Count == 5, "five frames");
        Assert.All(caller.Frames, f => Assert.Equal((AudioSocketKind.Slin, 320), (f.Kind, f.Payload.Length)));
        Assert.All(caller.Frames, f => Assert.All(f.Payload, b => Assert.Equal(0, b)));
    }

    [Fact]
    public async Task A_session_prepared_for_slin16_writes_640_byte_0x12_frames_from_the_claim()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        var (bot, sessionId) = await PrepareAsync(relay, gateway, callerSampleRate: 16000);
        // Binary mode carries the caller's rate: the bot's greeting is 16 kHz, played as it was sent.
        var greeting = TestPcm.Pattern(5, frameBytes: 640);
        await bot.SendAudioAsync(greeting);
        var session = relay.Session(sessionId);
        await Wait.Until(() => session.Jitter.Count == 5 * 640, "the greeting buffered");

        await using var caller = await ClaimSilentlyAsync(relay, sessionId);
        await relay.TickAsync(6);
        await Wait.Until(() => caller.Frames.Count == 6, "one frame per tick");
        Assert.All(caller.Frames, f => Assert.Equal((AudioSocketKind.Slin16, 640), (f.Kind, f.Payload.Length)));
        Assert.Equal(greeting, caller.Frames.Take(5).SelectMany(f => f.Payload).ToArray());
        Assert.All(caller.Frames.Last().Payload, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task A_caller_sending_another_kind_is_resampled_and_the_playout_keeps_the_prepared_kind()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        var (bot, sessionId) = await PrepareAsync(relay, gateway);

        await using var caller = await ClaimSilentlyAsync(relay, sessionId);
        var wide = new byte[640];
        wide.AsSpan().Fill(0x11);
        await caller.SendAsync(RawCaller.Frame(AudioSocketKind.Slin16, wide), RawCaller.Frame(AudioSocketKind.Slin16, wide));
        await Wait.Until(() => bot.AudioFramesReceived == 2, "both frames at the bot");
        Assert.Equal(640, bot.AudioBytesReceived);

        await relay.TickAsync(2);
        await Wait.Until(() => caller.Frames.Count == 2, "two frames");
        Assert.All(caller.Frames, f => Assert.Equal((AudioSocketKind.Slin, 320), (f.Kind, f.Payload.Length)));
        Assert.False(caller.Closed.IsCompleted);
    }

    [Theory]
    [InlineData(44100)]
    [InlineData(0)]
    public async Task A_rate_the_relay_cannot_play_is_refused_at_preparation(int rate)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        var (ready, failed) = await relay.PrepareAsync(gateway.Url.ToString(), callerSampleRate: rate);
        Assert.Null(ready);
        Assert.Equal(AiSessionFailure.Other, failed!.Reason);
        Assert.Contains("sample rate", failed.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_caller_outlives_the_stall_timeout_while_frames_keep_going_out()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?> { ["Relay:CallerIdleTimeout"] = "00:00:00.500" });
        var (_, sessionId) = await PrepareAsync(relay, gateway);

        await using var caller = await ClaimSilentlyAsync(relay, sessionId);

        // 100 frames on the real clock is 2 s: four times the stall timeout, and Asterisk's own 2 s no-activity limit.
        await Wait.Until(() => caller.Frames.Count >= 100, "two seconds of frames to the silent caller");
        Assert.True(relay.Session(sessionId).IsLive, "the silent call is still live");
        Assert.False(caller.Closed.IsCompleted);
        Assert.All(caller.Frames, f => Assert.Equal((AudioSocketKind.Slin, 320), (f.Kind, f.Payload.Length)));
    }

    [Fact]
    public async Task The_claimed_connection_limits_how_long_audio_may_stay_unacknowledged()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
        using var accepted = await listener.AcceptSocketAsync();

        Assert.True(Hosting.CallerSocket.LimitUnacknowledged(accepted, TimeSpan.FromSeconds(5)));
        var value = new byte[4];
        accepted.GetRawSocketOption(6, 18, value);
        Assert.Equal(5000, BitConverter.ToInt32(value));
        Assert.False(Hosting.CallerSocket.LimitUnacknowledged(accepted, TimeSpan.Zero));
    }
}
