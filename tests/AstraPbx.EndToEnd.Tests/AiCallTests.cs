using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.EndToEnd.Tests;

/// <summary>Whole calls through the three services over the real broker and database (issue 6, 1a-1f).</summary>
[Collection(nameof(OneRelayCollection))]
public sealed class AiCallTests(OneRelayDeployment fixture)
{

    [Fact]
    public async Task Direct_call_to_the_bot_flows_both_ways_and_leaves_a_complete_record()
    {
        var deployment = fixture.Deployment;
        var botId = await deployment.IdOfAsync("users", "1003");
        var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"ai_agent,{botId}", "1003");

        Assert.True(call.Answered.IsCompleted, "answered before it was handed to the relay");
        Assert.Null(bot.HandshakeError);
        Assert.Equal(call.ChannelId, bot.CallSid);
        await bot.FirstAudio.Within(Calls.Patience, "caller audio to reach the bot");
        await Eventually.Until(() => Task.FromResult(caller.Received.Count(Calls.IsSound)), n => n >= 25, Calls.Patience, "echoed bot audio to reach the caller");

        await call.HangUpAsync();
        await bot.Closed.Within(Calls.Patience, "the bot's socket to close after the caller hung up");
        Assert.Contains(bot.TextReceived, t => t.Contains("\"stop\"", StringComparison.Ordinal));

        var record = await Calls.RecordAsync(deployment, call.ChannelId, r => r["ended_at"] is not null && r["ai_ended_at"] is not null, "ended");
        Assert.Equal("caller", record["ai_ended_by"]);
        Assert.True((long)record["frames_to_gateway"]! > 0);
        Assert.True((long)record["frames_to_caller"]! > 0);
        Assert.True((double)record["call_duration_ms"]! > 0);
        Assert.Matches("^[0-9a-f]{32}$", (string)record["trace_id"]!);
        Assert.Equal(16, record["hangup_cause"]);
    }

    [Fact]
    public async Task Seed_flow_queue_timeout_fails_over_to_the_bot()
    {
        var deployment = fixture.Deployment;
        var queueId = await deployment.IdOfAsync("queues", "5001");
        var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"queue_timeout,{queueId}", "5001");
        await bot.FirstAudio.Within(Calls.Patience, "caller audio to reach the bot");

        var routed = await Calls.RecordAsync(deployment, call.ChannelId, r => r["outcome"] is not null, "routed");
        var path = string.Join(" -> ", (string[])routed["route_path"]!);
        Assert.Contains("5001", path, StringComparison.Ordinal);
        Assert.Contains("1003", path, StringComparison.Ordinal);
        Assert.DoesNotContain(FakeGateway.Secret, (string)routed["destination"]!, StringComparison.Ordinal);
        await call.HangUpAsync();
        await caller.Ended.Within(Calls.Patience, "the caller's AudioSocket to end");
    }

    [Fact]
    public async Task Bot_hangup_hangs_up_the_caller_and_the_record_says_so()
    {
        var deployment = fixture.Deployment;
        var botId = await deployment.IdOfAsync("users", "1003");
        var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"ai_agent,{botId}", "1003");
        await bot.FirstAudio.Within(Calls.Patience, "caller audio to reach the bot");

        await bot.SendStopAsync();
        Assert.Equal(CallerEnd.RelayHungUp, await caller.Ended.Within(Calls.Patience, "the relay to send 0x00"));
        var end = await call.Ended.Within(Calls.Patience, "the channel to be hung up by the dialplan");

        // A deliberate end: TRYSTATUS=SUCCESS, Hangup(), no second Stasis entry and no fallback (issue 12 item 2).
        Assert.Equal((16, Simulators.Ari.SimulatedEndReason.RelayHungUp), (end.Cause, end.Reason));
        Assert.Equal("SUCCESS", (await call.AudioSocketReturned).TryStatus);
        Assert.Equal(1, call.StasisEntries);
        Assert.Single(call.Continuations);
        var record = await Calls.RecordAsync(deployment, call.ChannelId, r => r["ended_at"] is not null && r["ai_ended_at"] is not null, "ended");
        Assert.Equal(("gateway", "gateway-stop"), (record["ai_ended_by"], record["ai_end_reason"]));
        Assert.Equal((1, "ai_agent"), (record["stasis_entries"], record["outcome"]));
    }

    [Theory]
    [InlineData("unreachable")]
    [InlineData("rejected")]
    public async Task Gateway_failure_lands_the_caller_in_the_fallback(string failure)
    {
        var deployment = fixture.Deployment;
        await using var rejecting = await FakeGateway.StartAsync(new FakeGatewayOptions { RejectWithStatus = 403 });
        var url = failure == "unreachable"
            ? $"ws://127.0.0.1:{AstraPbx.LocalRun.ServiceProcess.FreePort()}/ws/org-1/bot?key=ak_dead_key"
            : rejecting.Url.ToString();
        var extension = failure == "unreachable" ? "1801" : "1802";
        var userId = await Calls.AddBotUserAsync(deployment, extension, url);

        var call = await Calls.DialAsync(deployment, $"ai_agent,{userId}", extension);
        var target = await call.Continued.Within(TimeSpan.FromSeconds(40), "the call to be sent to the fallback");
        Assert.Equal((deployment.InternalContext, "5001"), (target.Context, target.Extension));
        var record = await Calls.RecordAsync(deployment, call.ChannelId, r => (string?)r["outcome"] == "fallback", "fallback");
        Assert.StartsWith("ai-session-failed", (string)record["route_reason"]!, StringComparison.Ordinal);
        Assert.DoesNotContain("ak_dead_key", deployment.AllOutput(), StringComparison.Ordinal);
        await call.HangUpAsync();
    }

    [Fact]
    public async Task Caller_dtmf_reaches_the_bot_and_clear_stops_the_bot_audio()
    {
        var deployment = fixture.Deployment;
        await using var silentBot = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        var userId = await Calls.AddBotUserAsync(deployment, "1803", silentBot.Url.ToString());
        var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"ai_agent,{userId}", "1803", silentBot);

        await call.SendDtmfAsync('5');
        var dtmf = await bot.NextText(t => t.Contains("\"dtmf\"", StringComparison.Ordinal), Calls.Patience);
        Assert.Contains("\"digit\":\"5\"", dtmf, StringComparison.Ordinal);

        // 10 s of bot audio arrives at once; the relay plays it at 50 frames a second until the bot says clear.
        await bot.SendAudioAsync(GatewayAudio.Tone(300, TimeSpan.FromSeconds(10)));
        await Eventually.Until(() => Task.FromResult(caller.Received.Count(Calls.IsSound)), n => n >= 10, Calls.Patience, "bot audio to start playing");
        await bot.SendClearAsync();
        var afterClear = caller.Received.Count;
        await Eventually.Until(() => Task.FromResult(caller.Received.Count), n => n >= afterClear + 50, Calls.Patience, "one more second of frames");
        var tail = caller.Received.Skip(afterClear + 25).Take(25).ToList();
        Assert.DoesNotContain(tail, Calls.IsSound);
        Assert.True(caller.Received.Count(Calls.IsSound) < 400, "clear dropped the queued audio instead of playing all 500 frames");
        await call.HangUpAsync();
    }
}


[CollectionDefinition(nameof(OneRelayCollection))]
public sealed class OneRelayCollection : ICollectionFixture<OneRelayDeployment>;
