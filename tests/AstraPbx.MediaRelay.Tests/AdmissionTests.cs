using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>AudioSocket has no authentication: only prepared UUIDs, once, first, in time. Bad input ends only the
/// connection it came on, while a parallel call keeps flowing.</summary>
public sealed class AdmissionTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static readonly Dictionary<string, string?> QuickTimeouts = new()
    {
        ["Relay:UuidWait"] = "00:00:00.500",
        ["Relay:CallerIdleTimeout"] = "00:00:01",
    };

    [Fact]
    public async Task Unknown_uuid_is_refused_with_a_reset_so_the_dialplan_falls_back()
    {
        await using var relay = await RelayHost.StartAsync(rabbit);
        await using var caller = await relay.DialAsync(Guid.NewGuid());
        // A FIN would be TRYSTATUS=SUCCESS and the generated context would hang the caller up (PROTOCOLS.md 1).
        Assert.Equal(CallerEnd.ConnectionLost, await caller.Ended.Within(Long, "the refusal"));
        Assert.Empty(caller.Received);
    }

    [Fact]
    public async Task Reused_uuid_is_refused_and_the_first_call_keeps_flowing()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);
        await using var first = await relay.DialAsync(ready!.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "the first call's audio");

        await using var second = await relay.DialAsync(ready.SessionId);
        Assert.Equal(CallerEnd.ConnectionLost, await second.Ended.Within(Long, "the refusal (reset) of the reused UUID"));

        var before = first.Received.Count;
        await Wait.Until(() => first.Received.Count > before + 5, "the first call still receiving");
        Assert.False(first.Ended.IsCompleted);

        // A UUID whose call ended cannot be claimed again either.
        await first.HangUpAsync();
        await relay.Ended(ready.SessionId);
        await using var third = await relay.DialAsync(ready.SessionId);
        Assert.Equal(CallerEnd.ConnectionLost, await third.Ended.Within(Long, "the refusal (reset) of a used UUID"));
    }

    [Fact]
    public async Task A_session_whose_bot_left_before_Asterisk_connected_is_refused_saying_so()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        var logs = new CapturingLoggerProvider();
        await using var relay = await RelayHost.StartAsync(rabbit, logs: logs);
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);
        await bot.CloseAsync();
        Assert.Equal(SessionEndedBy.Gateway, (await relay.Ended(ready!.SessionId)).EndedBy);

        await using var caller = await relay.DialAsync(ready.SessionId);
        Assert.Equal(CallerEnd.ConnectionLost, await caller.Ended.Within(Long, "the refusal (reset)"));
        await Wait.Until(() => logs.Lines.Any(l => l.Contains("session-ended-before-claim", StringComparison.Ordinal)), "the refusal's reason logged");
        Assert.DoesNotContain(logs.Lines, l => l.Contains("uuid-already-used", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_first_frame_that_is_not_a_uuid_is_refused()
    {
        await using var relay = await RelayHost.StartAsync(rabbit);
        await using var raw = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await raw.SendAsync(RawCaller.Frame(AudioSocketKind.Slin, new byte[320]));
        Assert.False(await raw.Closed.Within(Long, "the refusal"));
        Assert.True(raw.EndedWithReset, "refused with a reset, not a graceful close");
    }

    [Fact]
    public async Task A_connection_that_sends_no_uuid_in_time_is_closed()
    {
        await using var relay = await RelayHost.StartAsync(rabbit, QuickTimeouts);
        await using var raw = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await raw.SendAsync([0x01, 0x00]);
        Assert.False(await raw.Closed.Within(Long, "the close after the UUID wait"));
        Assert.True(raw.EndedWithReset, "refused with a reset, not a graceful close");
    }

    [Theory]
    [InlineData("unknown-kind")]
    [InlineData("oversized-frame")]
    [InlineData("bad-dtmf")]
    [InlineData("unexpected-uuid")]
    [InlineData("truncated-frame")]
    [InlineData("caller-idle")]
    public async Task Bad_input_closes_only_its_own_session_while_a_parallel_call_keeps_flowing(string reason)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var relay = await RelayHost.StartAsync(rabbit, QuickTimeouts);

        var (good, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var goodBot = await gateway.NextSession(Long);
        await using var goodCaller = await relay.DialAsync(good!.SessionId, new ToneSource());
        await goodBot.FirstAudio.Within(Long, "the good call's audio");

        var (bad, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var badBot = await gateway.NextSession(Long);
        await using var raw = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await raw.SendAsync(RawCaller.Uuid(bad!.SessionId), RawCaller.Frame(AudioSocketKind.Slin, new byte[320]));
        await badBot.FirstAudio.Within(Long, "the bad call's first frame");

        var header320 = new byte[] { (byte)AudioSocketKind.Slin, 0x01, 0x40 };
        switch (reason)
        {
            case "unknown-kind":
                await raw.SendAsync([0x05, 0x00, 0x01, 0x00]);
                break;
            case "oversized-frame":
                await raw.SendAsync([(byte)AudioSocketKind.Slin, 0xEA, 0x60]);
                break;
            case "bad-dtmf":
                await raw.SendAsync(RawCaller.Frame(AudioSocketKind.Dtmf, "x"u8));
                break;
            case "unexpected-uuid":
                await raw.SendAsync(RawCaller.Uuid(bad.SessionId));
                break;
            case "truncated-frame":
                await raw.SendAsync(header320, new byte[100]);
                raw.ShutdownSend();
                break;
            case "caller-idle":
                // A slow sender: half a frame, then nothing.
                await raw.SendAsync(header320, new byte[100]);
                break;
        }

        var ended = await relay.Ended(bad.SessionId);
        Assert.Equal(reason, ended.Reason);
        Assert.Equal(reason == "truncated-frame" ? SessionEndedBy.Caller : SessionEndedBy.Relay, ended.EndedBy);
        var hungUp = await raw.Closed.Within(Long, "the bad connection closed");
        if (reason != "truncated-frame")
        {
            Assert.True(hungUp, "the relay sends 0x00 before closing, so Asterisk's dialplan continues");
        }

        await badBot.Closed.Within(Long, "the bad call's gateway closed");

        var before = goodCaller.Received.Count;
        var sentBefore = goodBot.AudioFramesReceived;
        await Wait.Until(() => goodCaller.Received.Count > before + 10 && goodBot.AudioFramesReceived > sentBefore + 10, "the good call still flowing both ways");
        Assert.False(goodCaller.Ended.IsCompleted);
        Assert.True(relay.Session(good.SessionId).IsLive);
    }
}
