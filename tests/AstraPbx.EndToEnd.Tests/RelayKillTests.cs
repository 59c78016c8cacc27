using System.Diagnostics;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AstraPbx.EndToEnd.Tests;

/// <summary>Issue 12 "Done when": the relay SIGKILLed mid-call. The kernel resets its AudioSocket connection, the
/// simulated Asterisk's <c>TryExec(AudioSocket(...))</c> gives FAILED, the channel re-enters Stasis with
/// <c>ai_failed</c> and Routing sends it to the fallback. Its own deployment: the relay does not come back. A silent
/// caller's connection has nothing unread when the relay dies, where a plain close would be a FIN (a hangup to
/// Asterisk): the relay sets linger 0 on every AudioSocket connection so that its death resets them all.</summary>
public sealed class RelayKillTests(RelayKillDeployment fixture, ITestOutputHelper output) : IClassFixture<RelayKillDeployment>
{
    [Fact]
    public async Task A_relay_SIGKILLed_mid_call_hands_the_caller_to_the_fallback()
    {
        var deployment = fixture.Deployment;
        var botId = await deployment.IdOfAsync("users", "1003");
        var (call, caller, _) = await Calls.DialBotAsync(deployment, $"ai_agent,{botId}", "1003");
        var (silent, silentCaller, _) = await Calls.DialBotAsync(deployment, $"ai_agent,{botId}", "1003", silentCaller: true);
        await Eventually.Until(() => Task.FromResult(caller.Received.Count(Calls.IsSound)), n => n >= 10, Calls.Patience, "echoed bot audio at the caller");
        await Eventually.Until(() => Task.FromResult(silentCaller.Received.Count), n => n >= 10, Calls.Patience, "the relay's cadence at the silent caller");

        var faultAt = Stopwatch.GetTimestamp();
        await deployment.Relays[0].Service.KillAsync();

        var fallback = await Calls.FallbackAsync(deployment, call).Within(Calls.Patience, $"the caller to reach the fallback after the relay's SIGKILL\n{deployment.AllOutput()}");
        var returned = await call.AudioSocketReturned;
        output.WriteLine($"relay SIGKILL: AudioSocket failed ({returned.End}) after {Calls.Ms(faultAt, returned.Timestamp):0} ms, "
            + $"continued to the fallback after {Calls.Ms(faultAt, fallback.Timestamp):0} ms");
        Assert.Equal(("FAILED", CallerEnd.ConnectionLost), (returned.TryStatus, returned.End));
        Assert.Equal(2, call.StasisEntries);
        await Calls.FallbackAsync(deployment, silent).Within(Calls.Patience, "the silent caller to reach the fallback too");
        var silentReturned = await silent.AudioSocketReturned;
        Assert.Equal(("FAILED", CallerEnd.ConnectionLost), (silentReturned.TryStatus, silentReturned.End));
        Assert.False(call.Ended.IsCompleted, "the caller waits in the fallback queue, not hung up");

        // Nobody is left to report the AI session's end: the record holds the two entries and the fallback decision.
        var record = await Calls.RecordAsync(deployment, call.ChannelId, r => (int)r["stasis_entries"]! == 2 && (string?)r["outcome"] == "fallback", "the fallback");
        output.WriteLine($"record: ai_ended_by={record["ai_ended_by"]} ai_end_reason={record["ai_end_reason"]} route_reason={record["route_reason"]}");
        Assert.Contains("relay-failed", (string)record["route_reason"]!, StringComparison.Ordinal);
        await call.HangUpAsync();
        await silent.HangUpAsync();
        var ended = await Calls.RecordAsync(deployment, call.ChannelId, r => r["ended_at"] is not null, "the hangup");
        Assert.Equal(16, ended["hangup_cause"]);
    }
}
