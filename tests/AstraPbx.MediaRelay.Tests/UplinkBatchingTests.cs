using System.Net.WebSockets;
using System.Text.Json;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Issue 13 item 2: <c>Relay:UplinkFramesPerMessage</c> = 2 sends the caller's audio to the bot in 40 ms
/// messages (as Pipecat sends), bytes unchanged and in order; DTMF flushes the half-filled batch first. Off by default.</summary>
public sealed class UplinkBatchingTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const int Frame = 320;
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static async Task<(RelayHost Relay, RecordingBot Bot, RawCaller Caller, Guid SessionId)> StartAsync(
        RabbitMqFixture rabbit, RecordingGateway gateway, MediaMode mode, int framesPerMessage)
    {
        var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?> { ["Relay:UplinkFramesPerMessage"] = framesPerMessage.ToString(System.Globalization.CultureInfo.InvariantCulture) }, fakeClock: true);
        var (ready, failed) = await relay.PrepareAsync(gateway.Url, mode);
        Assert.Null(failed);
        var bot = await gateway.NextBot(Long);
        var caller = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await caller.SendAsync(RawCaller.Uuid(ready!.SessionId));
        await Wait.Until(() => relay.Session(ready.SessionId).CallerAttached, "the claimed connection attached");
        return (relay, bot, caller, ready.SessionId);
    }

    [Fact]
    public async Task Binary_mode_with_two_frames_per_message_sends_40_ms_messages_with_the_callers_bytes_in_order()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        var (relay, bot, caller, sessionId) = await StartAsync(rabbit, gateway, MediaMode.AstraPbxBinary, 2);
        await using var _ = relay;
        await using var __ = caller;

        var pcm = TestPcm.Pattern(10, Frame);
        for (var i = 0; i < 10; i++)
        {
            await caller.SendAsync(RawCaller.Frame(AudioSocketKind.Slin, pcm.AsSpan(i * Frame, Frame)));
        }

        await Wait.Until(() => bot.Binary.Count >= 5, "five 40 ms messages at the bot");
        var received = bot.Binary.ToArray();
        Assert.Equal(5, received.Length);
        Assert.All(received, m => Assert.Equal(2 * Frame, m.Length));
        Assert.Equal(pcm, received.SelectMany(m => m).ToArray());

        caller.ShutdownSend();
        var ended = await relay.Ended(sessionId);
        Assert.Equal((10L, 10L * Frame), (ended.FramesToGateway, ended.BytesToGateway));
    }

    [Fact]
    public async Task A_digit_after_half_a_batch_sends_that_half_first_so_the_bot_hears_things_in_order()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        var (relay, bot, caller, _) = await StartAsync(rabbit, gateway, MediaMode.AstraPbxBinary, 2);
        await using var __ = relay;
        await using var ___ = caller;
        var pcm = TestPcm.Pattern(3, Frame);

        await caller.SendAsync(RawCaller.Frame(AudioSocketKind.Slin, pcm.AsSpan(0, Frame)));
        await caller.SendAsync(RawCaller.Frame(AudioSocketKind.Dtmf, "5"u8));
        await caller.SendAsync(RawCaller.Frame(AudioSocketKind.Slin, pcm.AsSpan(Frame, Frame)));
        await caller.SendAsync(RawCaller.Frame(AudioSocketKind.Slin, pcm.AsSpan(2 * Frame, Frame)));

        await Wait.Until(() => bot.Binary.Count >= 2 && !bot.Text.IsEmpty, "the audio and the digit at the bot");
        var received = bot.Binary.ToArray();
        Assert.Equal([Frame, 2 * Frame], received.Select(m => m.Length));
        Assert.Equal(pcm, received.SelectMany(m => m).ToArray());
        Assert.Contains("\"5\"", Assert.Single(bot.Text), StringComparison.Ordinal);
        Assert.Equal([WebSocketMessageType.Binary, WebSocketMessageType.Text, WebSocketMessageType.Binary], bot.Order);
    }

    [Fact]
    public async Task Half_a_batch_left_by_a_caller_who_goes_quiet_is_sent_after_two_ticks_not_held()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        var (relay, bot, caller, sessionId) = await StartAsync(rabbit, gateway, MediaMode.AstraPbxBinary, 2);
        await using var __ = relay;
        await using var ___ = caller;
        var pcm = TestPcm.Pattern(1, Frame);

        // Silence suppression: one frame of speech, then nothing. Nothing else would ever complete the batch.
        await caller.SendAsync(RawCaller.Frame(AudioSocketKind.Slin, pcm));
        await Wait.Until(() => relay.Session(sessionId).FramesToGateway == 1, "the frame read by the relay");
        Assert.Empty(bot.Binary);

        await relay.TickAsync(3);

        await Wait.Until(() => bot.Binary.Count == 1, "the half batch at the bot");
        Assert.Equal(pcm, Assert.Single(bot.Binary));
    }

    [Fact]
    public async Task Twilio_mode_with_two_frames_per_message_sends_media_events_of_40_ms()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        var (relay, bot, caller, _) = await StartAsync(rabbit, gateway, MediaMode.Twilio, 2);
        await using var __ = relay;
        await using var ___ = caller;
        var pcm = TestPcm.Pattern(4, Frame);
        for (var i = 0; i < 4; i++)
        {
            await caller.SendAsync(RawCaller.Frame(AudioSocketKind.Slin, pcm.AsSpan(i * Frame, Frame)));
        }

        await Wait.Until(() => bot.Text.Count(t => t.Contains("\"media\"", StringComparison.Ordinal)) >= 2, "two media events");
        var media = bot.Text.Where(t => t.Contains("\"media\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, media.Count);
        Assert.All(media, m => Assert.Equal(2 * Frame / 2,
            Convert.FromBase64String(JsonDocument.Parse(m).RootElement.GetProperty("media").GetProperty("payload").GetString()!).Length));
    }
}
