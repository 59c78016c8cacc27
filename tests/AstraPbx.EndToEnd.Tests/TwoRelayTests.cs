using AstraPbx.Contracts.RelayAdmin;
using AstraPbx.Testing;
using Grpc.Net.Client;
using Xunit;

namespace AstraPbx.EndToEnd.Tests;

/// <summary>Issue 6, 1g: sessions spread over two relays; draining one sends new calls to the other while its live
/// call goes on.</summary>
public sealed class TwoRelayTests(TwoRelayDeployment fixture) : IClassFixture<TwoRelayDeployment>
{
    [Fact]
    public async Task Sessions_spread_over_two_relays_and_a_draining_relay_keeps_its_live_call()
    {
        var deployment = fixture.Deployment;
        var botId = await deployment.IdOfAsync("users", "1003");

        var calls = new List<(Simulators.Ari.SimulatedCall Call, Simulators.AudioSocket.AudioSocketCaller Caller)>();
        for (var i = 0; i < 4; i++)
        {
            var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"ai_agent,{botId}", "1003");
            await bot.FirstAudio.Within(Calls.Patience, "audio to flow");
            calls.Add((call, caller));
        }

        var relayOf = new Dictionary<string, string>();
        foreach (var (call, _) in calls)
        {
            var record = await Calls.RecordAsync(deployment, call.ChannelId, r => r["relay_instance"] is not null, "relay known");
            relayOf[call.ChannelId] = (string)record["relay_instance"]!;
        }

        Assert.Equal(2, relayOf.Values.Distinct().Count());

        // Drain relay-1 while it has a live call.
        var draining = deployment.Relays[0];
        var live = calls.First(c => relayOf[c.Call.ChannelId] == draining.Name);
        foreach (var other in calls.Where(c => c != live))
        {
            await other.Call.HangUpAsync();
        }

        using var channel = GrpcChannel.ForAddress(draining.Url);
        var admin = new RelayAdmin.RelayAdminClient(channel);
        var drain = await admin.StartDrainAsync(new StartDrainRequest());
        Assert.True(drain.Draining);

        for (var i = 0; i < 3; i++)
        {
            var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"ai_agent,{botId}", "1003");
            await bot.FirstAudio.Within(Calls.Patience, "audio to flow on the other relay");
            var record = await Calls.RecordAsync(deployment, call.ChannelId, r => r["relay_instance"] is not null, "relay known");
            Assert.Equal(deployment.Relays[1].Name, record["relay_instance"]);
            await call.HangUpAsync();
        }

        var before = live.Caller.Received.Count;
        await Eventually.Until(() => Task.FromResult(live.Caller.Received.Count), n => n > before + 25, Calls.Patience, "the draining relay's live call to keep flowing");
        Assert.False(live.Caller.Ended.IsCompleted);
        await live.Call.HangUpAsync();
    }
}
