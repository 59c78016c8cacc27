using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Issue 14, item 3: a 16 kHz caller (<c>Dial(AudioSocket/.../c(slin16))</c>, kind 0x12, 640-byte frames) in
/// binary mode reaches the bot at 16 kHz and the bot's 16 kHz audio reaches the caller, both bit-exact: no resampling
/// when the rates match. The jitter buffer, marks and <c>clear</c> count 16 kHz frames. The bot here is a
/// <see cref="RecordingGateway"/>, which keeps every binary message whole.</summary>
public sealed class WidebandTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const int WideFrame = 640;
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static async Task<(RecordingBot Bot, Guid SessionId)> PrepareAsync(RelayHost relay, RecordingGateway gateway, int callerSampleRate = 16000)
    {
        var (ready, failed) = await relay.PrepareAsync(gateway.Url, MediaMode.AstraPbxBinary, callerSampleRate: callerSampleRate);
        Assert.Null(failed);
        return (await gateway.NextBot(Long), ready!.SessionId);
    }

    private static async Task<RawCaller> ClaimAsync(RelayHost relay, Guid sessionId)
    {
        var caller = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await caller.SendAsync(RawCaller.Uuid(sessionId));
        await Wait.Until(() => relay.Session(sessionId).CallerAttached, "the claimed connection attached");
        return caller;
    }

    private static List<(AudioSocketKind Kind, byte[] Payload)> Audio(RawCaller caller) =>
        caller.Frames.Where(f => AudioSocketFormat.IsAudio(f.Kind)).ToList();

    [Fact]
    public async Task Binary_mode_at_16_kHz_carries_the_callers_640_byte_frames_to_the_bot_bit_exact()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        var (bot, sessionId) = await PrepareAsync(relay, gateway);
        Assert.Equal(16000, relay.Session(sessionId).GatewayRate);
        await using var caller = await ClaimAsync(relay, sessionId);

        // 100 frames of 0x12, written as one stream cut at offsets that fall inside headers and payloads alike.
        var pcm = TestPcm.Pattern(100, WideFrame);
        var stream = new List<byte>();
        for (var i = 0; i < 100; i++)
        {
            stream.AddRange(RawCaller.Frame(AudioSocketKind.Slin16, pcm.AsSpan(i * WideFrame, WideFrame)));
        }

        var bytes = stream.ToArray();
        for (var offset = 0; offset < bytes.Length; offset += 997)
        {
            await caller.SendAsync(bytes[offset..Math.Min(bytes.Length, offset + 997)]);
        }

        await Wait.Until(() => bot.Binary.Count >= 100, "100 frames at the bot");
        var received = bot.Binary.ToArray();
        Assert.Equal(100, received.Length);
        Assert.All(received, m => Assert.Equal(WideFrame, m.Length));
        Assert.Equal(pcm, received.SelectMany(m => m).ToArray());

        caller.ShutdownSend();
        var ended = await relay.Ended(sessionId);
        Assert.Equal("caller-closed", ended.Reason);
        Assert.Equal(100, ended.FramesToGateway);
        Assert.Equal(100 * WideFrame, ended.BytesToGateway);
    }

    [Fact]
    public async Task Binary_mode_at_16_kHz_plays_a_5_s_bot_burst_one_640_byte_0x12_frame_per_tick_bit_exact()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        var (bot, sessionId) = await PrepareAsync(relay, gateway);
        await using var caller = await ClaimAsync(relay, sessionId);
        var session = relay.Session(sessionId);

        var burst = TestPcm.Pattern(250, WideFrame);
        await bot.SendBinaryAsync(burst);
        await Wait.Until(() => session.Jitter.Count == burst.Length, "the whole burst buffered");

        for (var tick = 1; tick <= 250; tick++)
        {
            await relay.TickAsync();
            await Wait.Until(() => Audio(caller).Count >= tick, $"frame {tick} at the caller");
            Assert.Equal(tick, Audio(caller).Count);
        }

        var frames = Audio(caller);
        Assert.All(frames, f => Assert.Equal((AudioSocketKind.Slin16, WideFrame), (f.Kind, f.Payload.Length)));
        Assert.Equal(burst, frames.SelectMany(f => f.Payload).ToArray());

        // The buffer is empty: the cadence goes on with 16 kHz silence.
        await relay.TickAsync();
        await Wait.Until(() => Audio(caller).Count == 251, "the silence frame");
        Assert.Equal((AudioSocketKind.Slin16, WideFrame), (Audio(caller)[250].Kind, Audio(caller)[250].Payload.Length));
        Assert.All(Audio(caller)[250].Payload, b => Assert.Equal(0, b));
        Assert.Equal(0, session.Jitter.Count);
        Assert.Equal(0, session.Jitter.TrimmedFrames);
    }

    [Fact]
    public async Task Binary_mode_at_16_kHz_echoes_a_mark_only_after_the_audio_before_it_has_played()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        var (bot, sessionId) = await PrepareAsync(relay, gateway);
        await using var caller = await ClaimAsync(relay, sessionId);
        var session = relay.Session(sessionId);

        // 10 frames of 16 kHz audio: at 8 kHz arithmetic the same bytes would be 20 frames, and the mark would wait twice as long.
        await bot.SendBinaryAsync(TestPcm.Pattern(10, WideFrame));
        await bot.SendTextAsync("""{"event":"mark","streamSid":"s","mark":{"name":"greeting-done"}}""");
        await Wait.Until(() => session.Jitter.PendingMarks == 1, "the mark queued");

        await relay.TickAsync(9);
        await Wait.Until(() => Audio(caller).Count == 9, "nine frames at the caller");
        Assert.Equal(1, session.Jitter.PendingMarks);
        Assert.DoesNotContain(bot.Text, t => t.Contains("greeting-done", StringComparison.Ordinal));

        await relay.TickAsync();
        await Wait.Until(() => bot.Text.Any(t => t.Contains("\"mark\"", StringComparison.Ordinal)), "the mark echoed");
        Assert.Contains(bot.Text, t => t.Contains("\"name\":\"greeting-done\"", StringComparison.Ordinal));
        await Wait.Until(() => Audio(caller).Count == 10, "ten frames at the caller");
        Assert.All(Audio(caller), f => Assert.Equal(WideFrame, f.Payload.Length));
        Assert.All(Audio(caller), f => Assert.Contains(f.Payload, b => b != 0));
    }

    [Fact]
    public async Task Binary_mode_at_16_kHz_clear_flushes_the_queued_audio_within_one_tick_and_releases_its_marks()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        var (bot, sessionId) = await PrepareAsync(relay, gateway);
        await using var caller = await ClaimAsync(relay, sessionId);
        var session = relay.Session(sessionId);

        var burst = TestPcm.Pattern(250, WideFrame);
        await bot.SendBinaryAsync(burst);
        await bot.SendTextAsync("""{"event":"mark","streamSid":"s","mark":{"name":"after-burst"}}""");
        await Wait.Until(() => session.Jitter.Count == burst.Length && session.Jitter.PendingMarks == 1, "the burst and its mark buffered");
        await relay.TickAsync(10);
        await Wait.Until(() => Audio(caller).Count == 10, "ten frames played");
        Assert.Equal(burst[..(10 * WideFrame)], Audio(caller).SelectMany(f => f.Payload).ToArray());
        Assert.Equal(240 * WideFrame, session.Jitter.Count);

        await bot.SendTextAsync("""{"event":"clear","streamSid":"s"}""");
        await Wait.Until(() => session.Jitter.ClearRequested, "the clear at the relay");
        await relay.TickAsync();
        await Wait.Until(() => Audio(caller).Count == 11, "the next frame");
        Assert.Equal((AudioSocketKind.Slin16, WideFrame), (Audio(caller)[10].Kind, Audio(caller)[10].Payload.Length));
        Assert.All(Audio(caller)[10].Payload, b => Assert.Equal(0, b));
        Assert.Equal(0, session.Jitter.Count);
        await Wait.Until(() => bot.Text.Any(t => t.Contains("after-burst", StringComparison.Ordinal)), "the cleared audio's mark echoed");

        // The next utterance plays from its first byte.
        var next = TestPcm.Pattern(3, WideFrame);
        await bot.SendBinaryAsync(next);
        await Wait.Until(() => session.Jitter.Count == next.Length, "the next utterance buffered");
        await relay.TickAsync(3);
        await Wait.Until(() => Audio(caller).Count == 14, "three more frames");
        Assert.Equal(next, Audio(caller)[11..].SelectMany(f => f.Payload).ToArray());
    }

    [Fact]
    public async Task An_8_kHz_caller_on_a_16_kHz_binary_session_reaches_the_bot_at_16_kHz_and_hears_0x12()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        var (bot, sessionId) = await PrepareAsync(relay, gateway);
        await using var caller = await ClaimAsync(relay, sessionId);

        // The dialplan and the route disagree: the bot still gets the session's rate, and the playout keeps the prepared kind.
        var narrow = TestPcm.Pattern(2);
        await caller.SendAsync(RawCaller.Frame(AudioSocketKind.Slin, narrow.AsSpan(0, 320)), RawCaller.Frame(AudioSocketKind.Slin, narrow.AsSpan(320)));
        await Wait.Until(() => bot.Binary.Count == 2, "both frames at the bot");
        Assert.All(bot.Binary, m => Assert.Equal(WideFrame, m.Length));

        await relay.TickAsync(2);
        await Wait.Until(() => Audio(caller).Count == 2, "two frames");
        Assert.All(Audio(caller), f => Assert.Equal((AudioSocketKind.Slin16, WideFrame), (f.Kind, f.Payload.Length)));
        Assert.False(caller.Closed.IsCompleted);
    }

    [Fact]
    public async Task A_silent_16_kHz_caller_outlives_the_idle_timeout_with_640_byte_frames_going_out_and_a_half_frame_does_not()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?> { ["Relay:CallerIdleTimeout"] = "00:00:00.500" });
        var (_, silentId) = await PrepareAsync(relay, gateway);
        await using var silent = await ClaimAsync(relay, silentId);
        var (_, slowId) = await PrepareAsync(relay, gateway);
        await using var slow = await ClaimAsync(relay, slowId);

        // Half a 0x12 frame, then nothing: a frame Asterisk started and did not finish.
        await slow.SendAsync([(byte)AudioSocketKind.Slin16, 0x02, 0x80], new byte[300]);
        var ended = await relay.Ended(slowId);
        Assert.Equal("caller-idle", ended.Reason);
        Assert.True(await slow.Closed.Within(Long, "the slow caller closed"), "0x00 before the close");

        // 100 frames on the real clock is 2 s: four times the idle timeout, and Asterisk's own 2 s no-activity limit.
        await Wait.Until(() => silent.Frames.Count >= 100, "two seconds of frames to the silent caller");
        Assert.True(relay.Session(silentId).IsLive, "the silent call is still live");
        Assert.False(silent.Closed.IsCompleted);
        Assert.All(silent.Frames, f => Assert.Equal((AudioSocketKind.Slin16, WideFrame), (f.Kind, f.Payload.Length)));
    }

    [Fact]
    public async Task A_16_kHz_call_on_the_real_clock_is_bit_exact_both_ways_and_the_bot_burst_is_paced()
    {
        await using var gateway = await RecordingGateway.StartAsync();
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (bot, sessionId) = await PrepareAsync(relay, gateway);

        var said = TestPcm.Pattern(50, WideFrame);
        await using var caller = await relay.DialAsync(sessionId, new PatternSource(said, WideFrame), AudioSocketKind.Slin16);
        await Wait.Until(() => bot.Binary.Count >= 50, "a second of caller audio at the bot");
        var heard = bot.Binary.Take(50).ToArray();
        Assert.All(heard, m => Assert.Equal(WideFrame, m.Length));
        Assert.Equal(said, heard.SelectMany(m => m).ToArray());

        // A 5 s burst at once: Asterisk does not pace what it receives (PROTOCOLS.md 1), so the relay must.
        var burst = TestPcm.Pattern(250, WideFrame);
        await bot.SendBinaryAsync(burst);
        await Wait.Until(() => caller.Received.Count(f => f.Payload.Any(b => b != 0)) >= 250, "the burst at the caller", 60);

        var audio = caller.Received.ToArray();
        Assert.All(audio, f => Assert.Equal((AudioSocketKind.Slin16, WideFrame), (f.Kind, f.Payload.Length)));
        var played = audio.Where(f => f.Payload.Any(b => b != 0)).ToArray();
        Assert.Equal(burst, played.SelectMany(f => f.Payload).ToArray());
        var span = played[^1].At - played[0].At;
        // 250 frames one per 20 ms take 4.98 s; a burst passed on unpaced arrives within milliseconds. Load only
        // delays ticks, so the bound is loose on one side only.
        Assert.True(span >= TimeSpan.FromSeconds(4), $"the 250 frames arrived over {span.TotalMilliseconds:0} ms");

        await caller.HangUpAsync();
        var ended = await relay.Ended(sessionId);
        Assert.Equal(SessionEndedBy.Caller, ended.EndedBy);
        Assert.Equal(ended.FramesToGateway * WideFrame, ended.BytesToGateway);
        Assert.Equal(ended.FramesToCaller * WideFrame, ended.BytesToCaller);
    }

    /// <summary>The caller says <paramref name="pcm"/> frame by frame, then again from the start.</summary>
    private sealed class PatternSource(byte[] pcm, int frameBytes) : IAudioSource
    {
        public void Fill(Span<byte> frame, long index) =>
            pcm.AsSpan((int)(index % (pcm.Length / frameBytes)) * frameBytes, frameBytes).CopyTo(frame);
    }
}
