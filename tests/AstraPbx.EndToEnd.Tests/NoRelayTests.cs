using System.Diagnostics;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.EndToEnd.Tests;

/// <summary>Issue 6, 1e: with no relay running, an AI call still ends in the fallback, within the request timeout.</summary>
public sealed class NoRelayTests(NoRelayDeployment fixture) : IClassFixture<NoRelayDeployment>
{
    [Fact]
    public async Task Without_a_relay_the_caller_lands_in_the_fallback_within_the_request_timeout()
    {
        var deployment = fixture.Deployment;
        var botId = await deployment.IdOfAsync("users", "1003");
        var clock = Stopwatch.StartNew();
        var call = await Calls.DialAsync(deployment, $"ai_agent,{botId}", "1003");

        var target = await call.Continued.Within(TimeSpan.FromSeconds(40), "the call to be sent to the fallback");
        clock.Stop();
        Assert.Equal((deployment.InternalContext, "5001"), (target.Context, target.Extension));
        // Two attempts of 2 s each (one retry), plus delivery: far from the 30 s a caller would hang on in silence.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"fallback took {clock.Elapsed}");
        var record = await Calls.RecordAsync(deployment, call.ChannelId, r => (string?)r["outcome"] == "fallback", "fallback");
        Assert.Contains("timeout", (string)record["route_reason"]!, StringComparison.Ordinal);
        await call.HangUpAsync();
    }
}
