using AstraPbx.Audio.AudioSocket;
using AstraPbx.Audio.Codecs;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Playout toward Asterisk under a fake clock: the schedule is asserted tick by tick; real-time spacing is a
/// benchmark figure (docs/benchmarks.md), not an assertion.</summary>
public sealed class PlayoutTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private sealed record Call(RelayHost Relay, GatewaySession Bot, AudioSocketCaller Caller, Guid SessionId) : IAsyncDisposable
    {
        public List<ReceivedFrame> Audio => Caller.Received.Where(f => AudioSocketFormat.IsAudio(f.Kind)).ToList();

        public async ValueTask DisposeAsync() => await Caller.DisposeAsync();
    }

    private static async Task<Call> StartCallAsync(RelayHost relay, FakeGateway gateway, MediaMode mode)
    {
        var (ready, failed) = await relay.PrepareAsync(gateway.Url.ToString(), mode);
        Assert.Null(failed);
        var bot = await gateway.NextSession(Long);
        var caller = await relay.DialAsync(ready!.SessionId);
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");
        await Wait.Until(() => relay.Session(ready.SessionId).CallerAttached, "the claimed connection");
        return new Call(relay, bot, caller, ready.SessionId);
    }

    [Theory]
    [InlineData(MediaMode.AstraPbxBinary)]
    [InlineData(MediaMode.Twilio)]
    public async Task A_5_s_burst_reaches_the_caller_as_250_frames_one_per_tick_none_lost(MediaMode mode)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        await using var call = await StartCallAsync(relay, gateway, mode);
        var session = relay.Session(call.SessionId);
        var burst = TestPcm.Pattern(250);

        await call.Bot.SendAudioAsync(burst);
        await Wait.Until(() => session.Jitter.Count == burst.Length, "the whole burst buffered");

        var expected = burst;
        if (mode == MediaMode.Twilio)
        {
            // Twilio mode carries mu-law: the caller gets the burst as mu-law round-tripped it.
            var ulaw = new byte[burst.Length / 2];
            MuLaw.EncodePcm16(burst, ulaw);
            expected = new byte[burst.Length];
            MuLaw.DecodeToPcm16(ulaw, expected);
        }

        for (var tick = 1; tick <= 250; tick++)
        {
            await relay.TickAsync();
            await Wait.Until(() => call.Audio.Count >= tick, $"frame {tick} at the caller");
            Assert.Equal(tick, call.Audio.Count);
        }

        var frames = call.Audio;
        Assert.All(frames, f => Assert.Equal(320, f.Payload.Length));
        Assert.Equal(expected, frames.SelectMany(f => f.Payload).ToArray());

        // Empty buffer: the cadence goes on with silence.
        await relay.TickAsync();
        await Wait.Until(() => call.Audio.Count == 251, "the silence frame");
        Assert.All(call.Audio[250].Payload, b => Assert.Equal(0, b));
        Assert.Equal(0, session.Jitter.Count);
    }

    [Fact]
    public async Task Relay_flushes_queued_audio_on_clear_within_one_tick()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        await using var call = await StartCallAsync(relay, gateway, MediaMode.Twilio);
        var session = relay.Session(call.SessionId);
        await call.Bot.SendAudioAsync(TestPcm.Pattern(250));
        await Wait.Until(() => session.Jitter.Count == 250 * 320, "the burst buffered");
        await relay.TickAsync(10);
        await Wait.Until(() => call.Audio.Count == 10, "ten frames played");
        Assert.All(call.Audio, f => Assert.Contains(f.Payload, b => b != 0));

        await call.Bot.SendClearAsync();
        await Wait.Until(() => session.Jitter.ClearRequested, "the clear at the relay");
        await relay.TickAsync();
        await Wait.Until(() => call.Audio.Count == 11, "the next frame");
        Assert.All(call.Audio[10].Payload, b => Assert.Equal(0, b));
        Assert.Equal(0, session.Jitter.Count);
    }

    [Theory]
    [InlineData(MediaMode.AstraPbxBinary)]
    [InlineData(MediaMode.Twilio)]
    public async Task Mark_comes_back_only_after_the_audio_before_it_has_played(MediaMode mode)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        await using var call = await StartCallAsync(relay, gateway, mode);
        var session = relay.Session(call.SessionId);

        await call.Bot.SendAudioAsync(TestPcm.Pattern(10));
        await call.Bot.SendMarkAsync("greeting-done");
        await Wait.Until(() => session.Jitter.PendingMarks == 1, "the mark queued");

        await relay.TickAsync(9);
        Assert.Equal(1, session.Jitter.PendingMarks);
        Assert.DoesNotContain(call.Bot.TextReceived, t => t.Contains("greeting-done"));

        await relay.TickAsync();
        var mark = await call.Bot.NextText(t => t.Contains("\"mark\""), Long);
        Assert.Contains("\"name\":\"greeting-done\"", mark);
        Assert.Contains("asterisk_", mark);
        await Wait.Until(() => call.Audio.Count == 10, "ten frames at the caller");
        Assert.All(call.Audio, f => Assert.Contains(f.Payload, b => b != 0));
    }

    [Fact]
    public async Task Ten_minute_session_under_a_fake_clock_shows_no_drift()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, fakeClock: true);
        await using var call = await StartCallAsync(relay, gateway, MediaMode.AstraPbxBinary);
        var session = relay.Session(call.SessionId);
        var startTicks = relay.Clock.Ticks;

        // Wake-ups that come 5 ms early and 5 ms late in turn: a relative (sleep 20 ms after each tick) scheduler
        // would drift by 5 ms every other tick; the absolute schedule must land on exactly 30,000 ticks.
        var steps = new[] { TimeSpan.FromMilliseconds(15), TimeSpan.FromMilliseconds(25) };
        var elapsed = TimeSpan.Zero;
        for (var i = 0; elapsed < TimeSpan.FromMinutes(10); i++)
        {
            relay.Time!.Advance(steps[i % 2]);
            elapsed += steps[i % 2];
            var due = startTicks + (long)(elapsed / TimeSpan.FromMilliseconds(20));
            await relay.Playout!.WhenTicked(due).Within(Long, $"tick {due}");
            if (i % 100 == 99)
            {
                // Fake time runs far faster than real time: let the caller's socket drain now and then, as a real
                // Asterisk reading every 20 ms would.
                await Wait.Until(() => call.Caller.Received.Count >= session.FramesToCaller, "the caller to catch up");
            }
        }

        Assert.Equal(startTicks + 30_000, relay.Clock.Ticks);
        Assert.Equal(30_000, session.FramesToCaller);
        Assert.Equal(0, session.SkippedTicks);
        Assert.Equal(0, relay.Clock.Resyncs);
        // A tick is never later than the longest gap between wake-ups (25 ms), however long the call runs.
        Assert.True(relay.Clock.MaxLatenessMs <= 25.0 + 1e-9, $"max lateness {relay.Clock.MaxLatenessMs} ms");
        await Wait.Until(() => call.Caller.Received.Count == 30_000, "30,000 frames at the caller", 60);
        Assert.All(call.Caller.Received, f => Assert.Equal(AudioSocketKind.Slin, f.Kind));
    }
}
