using System.Net.WebSockets;
using System.Text;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Audio.Codecs;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Issue 14, item 1: the relay with a bot that behaves as a stock Pipecat bot does (PROTOCOLS.md 2, last
/// paragraph; <see cref="GatewayBehavior.PipecatLike"/>): 40 ms chunks paced at real time, <c>clear</c> on an
/// interruption, never <c>mark</c> or <c>stop</c>, the end as a 1000 close. Both media modes, 8 kHz. The pacing tests
/// run the bot and the relay on one fake clock, the bot half a tick off the relay's ticks, so every chunk is in the
/// relay before the tick that needs it, as with a real bot keeping real time; the others run on the real clock.</summary>
public sealed class PipecatLikeGatewayTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan HalfTick = TimeSpan.FromMilliseconds(10);

    /// <summary>40 ms of 8 kHz 16-bit PCM: one Pipecat chunk, two relay frames.</summary>
    private const int ChunkBytes = 640;

    private static async Task<(GatewaySession Bot, Guid SessionId)> PrepareAsync(RelayHost relay, FakeGateway gateway, MediaMode mode)
    {
        var (ready, failed) = await relay.PrepareAsync(gateway.Url.ToString(), mode);
        Assert.Null(failed);
        var bot = await gateway.NextSession(Long);
        Assert.Null(bot.HandshakeError);
        Assert.Equal(mode, bot.Mode);
        Assert.Equal(8000, bot.SampleRate);
        return (bot, ready!.SessionId);
    }

    private static async Task<RawCaller> ClaimSilentlyAsync(RelayHost relay, Guid sessionId)
    {
        var caller = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await caller.SendAsync(RawCaller.Uuid(sessionId));
        await Wait.Until(() => relay.Session(sessionId).CallerAttached, "the claimed connection attached");
        return caller;
    }

    /// <summary>What the caller hears of <paramref name="pcm"/>: itself in binary mode, its mu-law round trip in Twilio mode.</summary>
    private static byte[] AsHeard(byte[] pcm, MediaMode mode)
    {
        if (mode == MediaMode.AstraPbxBinary)
        {
            return pcm;
        }

        var ulaw = new byte[pcm.Length / 2];
        MuLaw.EncodePcm16(pcm, ulaw);
        var heard = new byte[pcm.Length];
        MuLaw.DecodeToPcm16(ulaw, heard);
        return heard;
    }

    /// <summary>Drives one fake clock for the relay and the bot, a tick at a time: half a tick to the relay's tick, then
    /// half a tick to the bot's side of the period, where a chunk it sends is waited for at the relay.</summary>
    private sealed class Lockstep(RelayHost relay, GatewaySession bot, RawCaller caller, Guid sessionId)
    {
        /// <summary>320 = 8000 Hz x 20 ms x 2 bytes: what a tick plays.</summary>
        private const int FrameBytes = 320;

        private int _buffered;

        public int Ticks { get; private set; }

        /// <summary>Moves to half a tick past the current tick: the bot speaks from here.</summary>
        public void ToBotPhase() => relay.Time!.Advance(HalfTick);

        /// <summary>The bot's chunk number <paramref name="chunks"/> (counted from 1) is sent, and in the relay's buffer.</summary>
        public async Task ChunkArrivedAsync(long chunks)
        {
            await Wait.Until(() => bot.ChunksSent >= chunks, $"chunk {chunks} sent by the bot");
            Assert.Equal(chunks, bot.ChunksSent);
            _buffered += ChunkBytes;
            var jitter = relay.Session(sessionId).Jitter;
            await Wait.Until(() => jitter.Count == _buffered, $"chunk {chunks} in the relay ({_buffered} bytes buffered)");
        }

        /// <summary>The relay's next tick (one frame to the caller), then back to the bot's phase.</summary>
        public async Task TickAsync()
        {
            var next = relay.Clock.Ticks + 1;
            relay.Time!.Advance(HalfTick);
            await relay.Playout!.WhenTicked(next).Within(Long, $"playout tick {next}");
            Ticks++;
            _buffered -= Math.Min(FrameBytes, _buffered);
            await Wait.Until(() => caller.Frames.Count == Ticks, $"frame {Ticks} at the caller");
            relay.Time.Advance(HalfTick);
        }

        /// <summary>A clear empties the buffer at the next tick.</summary>
        public void Cleared() => _buffered = 0;
    }

    [Theory]
    [InlineData(MediaMode.AstraPbxBinary)]
    [InlineData(MediaMode.Twilio)]
    public async Task Paced_40_ms_chunks_reach_the_caller_as_one_320_byte_frame_per_tick_none_lost_or_trimmed(MediaMode mode)
    {
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.PipecatLike, TimeProvider = relay.Time! });
        var (bot, sessionId) = await PrepareAsync(relay, gateway, mode);
        await using var caller = await ClaimSilentlyAsync(relay, sessionId);
        var steps = new Lockstep(relay, bot, caller, sessionId);
        var utterance = TestPcm.Pattern(50); // 1 s: 25 chunks of 40 ms

        steps.ToBotPhase();
        var spoken = bot.SpeakAsync(utterance);
        for (var tick = 0; tick < 60; tick++)
        {
            // One chunk every other tick, never ahead: a burst would put more in the relay than ChunkArrivedAsync expects.
            if (tick % 2 == 0 && tick / 2 < 25)
            {
                await steps.ChunkArrivedAsync(tick / 2 + 1);
            }

            await steps.TickAsync();
        }

        Assert.True(await spoken.Within(Long, "the utterance sent"));
        Assert.Equal(25, bot.ChunksSent);
        Assert.Equal(utterance.Length, bot.BytesSpoken);

        var frames = caller.Frames.ToArray();
        Assert.Equal(60, frames.Length);
        Assert.All(frames, f => Assert.Equal((AudioSocketKind.Slin, 320), (f.Kind, f.Payload.Length)));
        // All of it, in order, from the first tick on, with no gap: then silence.
        Assert.Equal(AsHeard(utterance, mode), frames.Take(50).SelectMany(f => f.Payload).ToArray());
        Assert.All(frames.Skip(50), f => Assert.All(f.Payload, b => Assert.Equal(0, b)));
        var session = relay.Session(sessionId);
        Assert.Equal(0, session.Jitter.TrimmedFrames);
        Assert.Equal(0, session.Jitter.OverflowBytes);
        Assert.Equal(1, session.Underruns); // the utterance's natural end, nothing in the middle
        Assert.Empty(bot.Errors);
    }

    [Theory]
    [InlineData(MediaMode.AstraPbxBinary, false)]
    [InlineData(MediaMode.Twilio, false)]
    [InlineData(MediaMode.AstraPbxBinary, true)]
    [InlineData(MediaMode.Twilio, true)]
    public async Task Clear_on_an_interruption_stops_the_queued_audio_reaching_the_caller(MediaMode mode, bool byCallerSpeech)
    {
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions
        {
            Behavior = GatewayBehavior.PipecatLike,
            TimeProvider = relay.Time!,
            InterruptOnCallerSpeech = byCallerSpeech,
        });
        var (bot, sessionId) = await PrepareAsync(relay, gateway, mode);
        await using var caller = await ClaimSilentlyAsync(relay, sessionId);
        var session = relay.Session(sessionId);
        var steps = new Lockstep(relay, bot, caller, sessionId);
        var utterance = TestPcm.Pattern(50);

        steps.ToBotPhase();
        var spoken = bot.SpeakAsync(utterance);
        for (var tick = 0; tick < 10; tick++)
        {
            if (tick % 2 == 0)
            {
                await steps.ChunkArrivedAsync(tick / 2 + 1);
            }

            await steps.TickAsync();
        }

        // Chunk 6 is in the relay, not yet played, when the caller barges in.
        await steps.ChunkArrivedAsync(6);
        Assert.True(bot.Speaking);
        if (byCallerSpeech)
        {
            var speech = GatewayAudio.Tone(300, TimeSpan.FromMilliseconds(20));
            await caller.SendAsync(RawCaller.Frame(AudioSocketKind.Slin, speech));
        }
        else
        {
            await bot.InterruptAsync();
        }

        Assert.False(await spoken.Within(Long, "the interrupted utterance to stop"));
        await Wait.Until(() => session.Jitter.ClearRequested, "the clear at the relay");
        steps.Cleared();
        for (var tick = 0; tick < 20; tick++)
        {
            await steps.TickAsync();
            Assert.Equal(0, session.Jitter.Count);
        }

        Assert.Equal(6, bot.ChunksSent);
        var frames = caller.Frames.ToArray();
        Assert.Equal(30, frames.Length);
        Assert.Equal(AsHeard(utterance, mode)[..(10 * 320)], frames.Take(10).SelectMany(f => f.Payload).ToArray());
        Assert.All(frames.Skip(10), f => Assert.All(f.Payload, b => Assert.Equal(0, b)));
        Assert.Equal(0, session.Jitter.TrimmedFrames);
        Assert.False(caller.Closed.IsCompleted, "the call goes on after the interruption");
    }

    [Theory]
    [InlineData(MediaMode.AstraPbxBinary)]
    [InlineData(MediaMode.Twilio)]
    public async Task The_bot_closing_with_1000_after_its_last_words_hangs_up_the_caller(MediaMode mode)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.PipecatLike });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (bot, sessionId) = await PrepareAsync(relay, gateway, mode);
        await using var caller = await relay.DialAsync(sessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "caller audio at the bot");

        var goodbye = bot.SpeakAsync(TestPcm.Pattern(10));
        var ended = bot.EndAsync();
        Assert.True(await goodbye.Within(Long, "the goodbye sent"));
        Assert.True(await ended.Within(Long, "the bot's close sent"));
        Assert.Equal(5, bot.ChunksSent);

        Assert.Equal(CallerEnd.RelayHungUp, await caller.Ended.Within(Long, "the relay's hangup at the caller"));
        Assert.Equal(AudioSocketKind.Hangup, caller.Received.Last().Kind);
        Assert.DoesNotContain(caller.Received, f => !AudioSocketFormat.IsAudio(f.Kind) && f.Kind != AudioSocketKind.Hangup);
        await bot.Closed.Within(Long, "the bot's WebSocket closed");

        var report = await relay.Ended(sessionId);
        Assert.Equal(SessionEndedBy.Gateway, report.EndedBy);
        Assert.Equal("gateway-closed", report.Reason);
        Assert.Empty(bot.Errors);
    }

    [Theory]
    [InlineData(MediaMode.AstraPbxBinary)]
    [InlineData(MediaMode.Twilio)]
    public async Task A_caller_hangup_reaches_the_bot_as_stop_then_close_though_the_bot_never_sends_mark_or_stop(MediaMode mode)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.PipecatLike });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (bot, sessionId) = await PrepareAsync(relay, gateway, mode);
        await using var caller = await relay.DialAsync(sessionId, new ToneSource());

        // The bot talks over the call (10 s, cut short by the hangup), as a bot mid-sentence would.
        var talking = bot.SpeakAsync(TestPcm.Pattern(500));
        await Wait.Until(() => bot.ChunksSent >= 3 && bot.AudioFramesReceived >= 5, "audio both ways");
        await Wait.Until(() => caller.Received.Any(f => AudioSocketFormat.IsAudio(f.Kind) && f.Payload.Any(b => b != 0)), "the bot heard by the caller");

        await caller.HangUpAsync();
        await bot.StopReceived.Within(Long, "stop at the bot");
        await bot.Closed.Within(Long, "the bot's WebSocket closed");
        Assert.Equal(WebSocketCloseStatus.NormalClosure, bot.CloseStatus);
        var stop = await bot.NextText(t => t.Contains("\"stop\"", StringComparison.Ordinal), Long);
        Assert.Contains("\"streamSid\":\"" + bot.StreamSid + "\"", stop, StringComparison.Ordinal);
        Assert.False(await talking.Within(Long, "the bot's speech to end with the socket"));

        var report = await relay.Ended(sessionId);
        Assert.Equal(SessionEndedBy.Caller, report.EndedBy);
        Assert.Equal("caller-closed", report.Reason);
        Assert.True(report.FramesToGateway > 0 && report.FramesToCaller > 0, $"{report.FramesToGateway} / {report.FramesToCaller}");
        // The bot sent no mark, so none came back; stop was the only control event it got.
        Assert.DoesNotContain(bot.TextReceived, t => t.Contains("\"mark\"", StringComparison.Ordinal));
        Assert.Single(bot.TextReceived);

        // The caller's tone reached the bot whole: 320 bytes of 8 kHz PCM per frame, not silence.
        var heard = bot.CallerAudio();
        Assert.True(heard.Length >= 5 * 320 && heard.Length % 320 == 0, $"{heard.Length} bytes");
        Assert.Contains(heard, b => b != 0);
        Assert.Empty(bot.Errors);
    }

    [Theory]
    [InlineData(MediaMode.AstraPbxBinary)]
    [InlineData(MediaMode.Twilio)]
    public async Task Dtmf_from_the_caller_reaches_the_bot(MediaMode mode)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.PipecatLike });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (bot, sessionId) = await PrepareAsync(relay, gateway, mode);
        await using var caller = await relay.DialAsync(sessionId);

        foreach (var digit in "5#*0D")
        {
            await caller.SendDtmfAsync(digit);
        }

        await Wait.Until(() => bot.Dtmf.Length == 5, "five digits at the bot");
        Assert.Equal("5#*0D", bot.Dtmf);
        var first = await bot.NextText(t => t.Contains("\"dtmf\"", StringComparison.Ordinal), Long);
        Assert.Equal("{\"event\":\"dtmf\",\"streamSid\":\"" + bot.StreamSid + "\",\"dtmf\":{\"digit\":\"5\"}}", first);
        Assert.False(bot.StopReceived.IsCompleted);
    }

    /// <summary>The fake gateway reads the start's <c>mediaFormat</c> as the relay sends it before and after issue 14,
    /// and a Pipecat-like bot speaks at the rate it says: 1280-byte chunks at 16 kHz.</summary>
    [Theory]
    [InlineData("astrapbx", "audio/x-mulaw", 8000, true, 8000)]
    [InlineData("astrapbx", "audio/x-l16", 8000, true, 8000)]
    [InlineData("astrapbx", "audio/x-l16", 16000, true, 16000)]
    [InlineData("astrapbx", "audio/x-l16", null, true, 8000)]
    [InlineData("twilio", "audio/x-mulaw", 8000, true, 8000)]
    [InlineData("twilio", "audio/x-mulaw", null, true, 8000)]
    [InlineData("twilio", "audio/x-l16", 8000, false, 0)]
    [InlineData("twilio", "audio/x-mulaw", 16000, false, 0)]
    [InlineData("astrapbx", "audio/x-l16", 44100, false, 0)]
    [InlineData("astrapbx", "audio/x-mulaw", 16000, false, 0)]
    public async Task The_fake_gateway_reads_the_media_format_per_mode(string provider, string encoding, int? rate, bool valid, int sessionRate)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.PipecatLike });
        using var client = new ClientWebSocket();
        await client.ConnectAsync(gateway.Url, CancellationToken.None);
        var sampleRate = rate is { } hz ? ",\"sampleRate\":" + hz : "";
        await SendTextAsync(client, "{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}");
        await SendTextAsync(client, "{\"event\":\"start\",\"start\":{\"streamSid\":\"asterisk_c1\",\"callSid\":\"c1\",\"accountSid\":\"org-1\","
            + "\"from\":\"+15550100\",\"to\":\"600\",\"direction\":\"inbound\","
            + "\"mediaFormat\":{\"encoding\":\"" + encoding + "\"" + sampleRate + ",\"channels\":1},"
            + "\"customParameters\":{\"provider\":\"" + provider + "\",\"org_id\":\"org-1\",\"channel_id\":\"c1\",\"endpoint\":\"PJSIP/a-1\","
            + "\"from_number\":\"+15550100\",\"to_number\":\"600\"}}}");
        var bot = await gateway.NextSession(Long);

        if (!valid)
        {
            Assert.NotNull(bot.HandshakeError);
            Assert.Contains("mediaFormat", bot.HandshakeError, StringComparison.Ordinal);
            return;
        }

        Assert.Null(bot.HandshakeError);
        Assert.Equal(sessionRate, bot.SampleRate);
        Assert.Equal("+15550100", bot.CustomParameters["from_number"]);
        var pcm = new byte[sessionRate / 1000 * 40 * 2 * 2]; // two chunks
        pcm.AsSpan().Fill(0x01);
        Assert.True(await bot.SpeakAsync(pcm).Within(Long, "two chunks sent"));

        var (type, message) = await ReceiveMessageAsync(client);
        if (provider == "astrapbx")
        {
            Assert.Equal((WebSocketMessageType.Binary, pcm.Length / 2), (type, message.Length));
        }
        else
        {
            Assert.Equal(WebSocketMessageType.Text, type);
            using var media = System.Text.Json.JsonDocument.Parse(message);
            Assert.Equal("media", media.RootElement.GetProperty("event").GetString());
            Assert.Equal("asterisk_c1", media.RootElement.GetProperty("streamSid").GetString());
            Assert.Equal(Enumerable.Repeat(MuLawOf(0x0101), 320),
                Convert.FromBase64String(media.RootElement.GetProperty("media").GetProperty("payload").GetString()!));
        }
    }

    private static byte MuLawOf(short sample)
    {
        Span<byte> pcm = stackalloc byte[2];
        System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(pcm, sample);
        Span<byte> ulaw = stackalloc byte[1];
        MuLaw.EncodePcm16(pcm, ulaw);
        return ulaw[0];
    }

    /// <summary>One whole message: a receive may return part of one.</summary>
    private static async Task<(WebSocketMessageType Type, byte[] Message)> ReceiveMessageAsync(ClientWebSocket client)
    {
        using var cts = new CancellationTokenSource(Long);
        var message = new List<byte>();
        var buffer = new byte[4096];
        while (true)
        {
            var result = await client.ReceiveAsync(buffer, cts.Token);
            message.AddRange(buffer.AsSpan(0, result.Count));
            if (result.EndOfMessage)
            {
                return (result.MessageType, message.ToArray());
            }
        }
    }

    private static Task SendTextAsync(ClientWebSocket client, string json) =>
        client.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None);
}
