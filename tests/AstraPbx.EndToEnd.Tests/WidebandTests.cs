using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.WebSockets;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Simulators.Ari;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AstraPbx.EndToEnd.Tests;

/// <summary>Issue 14 item 3: a wideband AI route (<c>users.ai_sample_rate = 16000</c>) through the three services,
/// the simulated Asterisk running the generated <c>[audiosocket-ai-16]</c> context
/// (<c>Dial(AudioSocket/.../c(slin16),,g)</c>). <c>Dial</c> cannot tell a bot that hung up from one that failed, so the
/// channel comes back as <c>ai_ended,&lt;session&gt;</c> and Routing decides from the relay's <c>AiSessionEnded</c>.</summary>
[Collection(nameof(OneRelayCollection))]
public sealed class WidebandTests(OneRelayDeployment fixture, ITestOutputHelper output)
{
    /// <summary>Issue 12's bound for a bot that aborts (3 s), plus room for a loaded machine.</summary>
    private static readonly TimeSpan AbortBound = TimeSpan.FromSeconds(3) + TimeSpan.FromSeconds(3);

    [Fact]
    public async Task On_a_16_kHz_route_the_callers_640_byte_frames_reach_the_bot_bit_exact_and_its_16_kHz_audio_comes_back_paced()
    {
        var deployment = fixture.Deployment;
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        var userId = await Calls.AddBotUserAsync(deployment, "1860", gateway.Url.ToString(), sampleRate: 16000);
        var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"ai_agent,{userId}", "1860", gateway, audio: new NumberedSamples());
        const int Frames = 100;
        await Eventually.Until(() => Task.FromResult(caller.Received.Count(Calls.IsSound)), n => n >= Frames, Calls.Patience, "2 s of echoed audio at the caller");

        // The handshake told the bot what it gets, and it got 640-byte messages: one caller frame each.
        var format = bot.Start!.RootElement.GetProperty("start").GetProperty("mediaFormat");
        Assert.Equal(("audio/x-l16", 16000), (format.GetProperty("encoding").GetString(), format.GetProperty("sampleRate").GetInt32()));
        Assert.Equal((640L, 640L), bot.AudioMessageBytes);

        // Every frame toward the caller is a 20 ms slin16 frame; the echoed ones carry the caller's own samples, each
        // numbered, so a resampler (or a lost or reordered byte) anywhere on the way out or back breaks the count.
        var received = caller.Received.ToList();
        Assert.All(received, f => Assert.Equal((AudioSocketKind.Slin16, 640), (f.Kind, f.Payload.Length)));
        var sound = received.Where(Calls.IsSound).Take(Frames).ToList();
        var exact = sound.Count(NumberedSamples.IsRun);
        var joined = sound.Zip(sound.Skip(1)).Count(p => NumberedSamples.Follows(p.First, p.Second));
        output.WriteLine($"16 kHz echo: {sound.Count} frames with sound, {exact} numbered runs, {joined} joined to the one before; "
            + $"bot got {bot.AudioFramesReceived} messages, {bot.AudioBytesReceived} bytes");
        // A frame may straddle an underrun on a loaded machine (part audio, part silence); the rest are exact.
        Assert.True(exact >= Frames * 9 / 10, $"only {exact} of {Frames} frames are exact runs of the caller's samples");
        Assert.True(joined >= Frames * 8 / 10, $"only {joined} frames continue the one before");

        // Paced: the relay writes one frame per 20 ms tick, so 2 s of audio took about 2 s to arrive, not a burst.
        var span = sound[^1].At - sound[0].At;
        Assert.True(span >= TimeSpan.FromMilliseconds((Frames - 1) * 20 * 0.8), $"{Frames} frames arrived within {span.TotalMilliseconds:0} ms");
        await call.HangUpAsync();
    }

    /// <summary>Sample k of the call is <c>k * 40503 mod 65536</c> (40503 is odd, so the map is invertible): noise to
    /// the ear, and each sample says where it was in the stream.</summary>
    private sealed class NumberedSamples : IAudioSource
    {
        private const int Multiplier = 40503;
        private const int Inverse = 30599; // 40503 * 30599 = 1 (mod 65536)

        public void Fill(Span<byte> frame, long index)
        {
            var samples = frame.Length / 2;
            for (var i = 0; i < samples; i++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(frame[(i * 2)..], (ushort)((index * samples + i) * Multiplier));
            }
        }

        private static int Number(byte[] payload, int sample) => (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(payload.AsSpan(sample * 2)) * Inverse);

        /// <summary>True when the frame's samples are consecutive numbers.</summary>
        public static bool IsRun(ReceivedFrame frame)
        {
            var first = Number(frame.Payload, 0);
            for (var i = 1; i < frame.Payload.Length / 2; i++)
            {
                if (Number(frame.Payload, i) != (ushort)(first + i))
                {
                    return false;
                }
            }

            return true;
        }

        public static bool Follows(ReceivedFrame before, ReceivedFrame after) =>
            Number(after.Payload, 0) == (ushort)(Number(before.Payload, (before.Payload.Length / 2) - 1) + 1);
    }

    [Fact]
    public async Task A_bot_that_fails_on_a_16_kHz_route_hands_the_caller_to_the_fallback_like_on_an_8_kHz_one()
    {
        var deployment = fixture.Deployment;
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        var userId = await Calls.AddBotUserAsync(deployment, "1861", gateway.Url.ToString(), sampleRate: 16000);
        var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"ai_agent,{userId}", "1861", gateway);
        await Eventually.Until(() => Task.FromResult(caller.Received.Count(Calls.IsSound)), n => n >= 10, Calls.Patience, "echoed bot audio at the caller");
        Assert.Equal(deployment.Asterisk.Options.WidebandAudioSocketContext, (await call.Continued).Context);
        Assert.All(caller.Received.Take(20), f => Assert.Equal((AudioSocketKind.Slin16, 640), (f.Kind, f.Payload.Length)));

        var faultAt = Stopwatch.GetTimestamp();
        bot.Abort();

        var fallback = await Calls.FallbackAsync(deployment, call).Within(Calls.Patience, $"the caller to reach the fallback after the abort\n{deployment.AllOutput()}");
        var returned = await call.AudioSocketReturned;
        var after = Stopwatch.GetElapsedTime(faultAt, fallback.Timestamp);
        output.WriteLine($"16 kHz bot abort: Dial returned ({returned.TryStatus}, {returned.End}) after {Calls.Ms(faultAt, returned.Timestamp):0} ms, "
            + $"continued to the fallback after {after.TotalMilliseconds:0} ms");
        Assert.Equal("ANSWER", returned.TryStatus);
        Assert.Equal(2, call.StasisEntries);
        Assert.False(call.Ended.IsCompleted, "the caller waits in the fallback queue, not hung up");
        Assert.True(after <= AbortBound, $"the fallback took {after.TotalMilliseconds:0} ms after the abort");

        var record = await Calls.RecordAsync(deployment, call.ChannelId,
            r => r["ai_ended_at"] is not null && (int)r["stasis_entries"]! == 2 && (string?)r["outcome"] == "fallback", "the AI failure and the fallback");
        Assert.Equal(("gateway", "gateway-failed"), ((string?)record["ai_ended_by"], (string?)record["ai_end_reason"]));
        Assert.Equal("ai-session-failed:gateway-failed", record["route_reason"]);
        await call.HangUpAsync();
    }

    [Fact]
    public async Task A_bot_that_hangs_up_on_a_16_kHz_route_hangs_the_caller_up()
    {
        var deployment = fixture.Deployment;
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        var userId = await Calls.AddBotUserAsync(deployment, "1862", gateway.Url.ToString(), sampleRate: 16000);
        var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"ai_agent,{userId}", "1862", gateway);
        await Eventually.Until(() => Task.FromResult(caller.Received.Count(Calls.IsSound)), n => n >= 5, Calls.Patience, "echoed bot audio at the caller");

        await bot.CloseAsync(WebSocketCloseStatus.NormalClosure, "goodbye");

        var end = await call.Ended.Within(Calls.Patience, $"the caller to be hung up\n{deployment.AllOutput()}");
        output.WriteLine($"16 kHz bot hangup: call ended {end.Reason} ({end.Cause}) after {call.StasisEntries} Stasis entries");
        Assert.Equal(SimulatedEndReason.HungUpByAri, end.Reason);
        Assert.Equal(2, call.StasisEntries);
        Assert.DoesNotContain(call.Continuations, c => c.Target.Context == deployment.InternalContext);
        var record = await Calls.RecordAsync(deployment, call.ChannelId, r => r["ended_at"] is not null && (string?)r["outcome"] == "hangup", "the hangup");
        Assert.StartsWith("bot-ended:gateway-closed", (string)record["route_reason"]!, StringComparison.Ordinal);
    }
}
