using System.Collections.Concurrent;
using System.Globalization;
using AstraPbx.Contracts;
using AstraPbx.Contracts.Media;
using AstraPbx.Contracts.RelayAdmin;
using AstraPbx.Simulators.Ari;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Testing;
using Grpc.Net.Client;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;

namespace AstraPbx.EndToEnd.Tests;

/// <summary>Issue 13, item 1, end to end, with one relay that holds <see cref="LowLimitRelayDeployment.MaxSessions"/>
/// sessions: once it reports no room, an AI call goes to the fallback without a session request (no relay would take
/// it) and without waiting for Routing's timeout; and a burst of calls past its limit, placed at once, gets exactly the
/// sessions it holds, with audio, while every excess call reaches the fallback within the issue's bound.</summary>
public sealed class CapacityTests(LowLimitRelayDeployment fixture, ITestOutputHelper output) : IClassFixture<LowLimitRelayDeployment>
{
    private const string FallbackExtension = "5001";

    [Fact]
    public async Task With_no_relay_room_an_ai_call_reaches_the_fallback_at_once_and_the_admitted_calls_flow_on()
    {
        var deployment = fixture.Deployment;
        var reports = new ConcurrentQueue<RelayCapacity>();
        await using var bus = await ListenAsync(reports);
        using var channel = GrpcChannel.ForAddress(deployment.Relays[0].Url);
        var admin = new RelayAdmin.RelayAdminClient(channel);
        var startedBefore = await IdleAsync(admin, reports);
        var botId = await deployment.IdOfAsync("users", "1003");

        var placed = new List<SimulatedCall>();
        try
        {
            await AdmitThenRefuseAsync(placed, reports, admin, startedBefore, botId);
        }
        finally
        {
            await HangUpAsync(placed);
        }
    }

    private async Task AdmitThenRefuseAsync(List<SimulatedCall> placed, ConcurrentQueue<RelayCapacity> reports, RelayAdmin.RelayAdminClient admin,
        long startedBefore, int botId)
    {
        var deployment = fixture.Deployment;
        var admitted = new List<AudioSocketCaller>();
        for (var i = 0; i < LowLimitRelayDeployment.MaxSessions; i++)
        {
            var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"ai_agent,{botId}", "1003");
            placed.Add(call);
            await bot.FirstAudio.Within(Calls.Patience, "an admitted call's audio");
            admitted.Add(caller);
        }

        await Eventually.Until(() => Task.FromResult(reports.Any(r => !r.Accepting)), full => full, Calls.Patience, "the relay to report it has no room");

        var excess = await Calls.DialAsync(deployment, $"ai_agent,{botId}", "1003");
        placed.Add(excess);
        var target = await excess.Continued.Within(Calls.Patience, "the excess call to be continued");
        var elapsed = Calls.Ms(excess.StasisStartSentTimestamp, excess.ContinuedTimestamp);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"excess call: StasisStart -> continued to the fallback in {elapsed:0} ms"));

        Assert.Equal((deployment.InternalContext, FallbackExtension), (target.Context, target.Extension));
        var record = await Calls.RecordAsync(deployment, excess.ChannelId, r => (string?)r["outcome"] == "fallback", "fallback");
        Assert.Equal("ai-session-failed:no-relay-capacity", record["route_reason"]);
        // The issue's bound is 1 s; twice that here for a loaded 2-core machine. Without the capacity report the call
        // would wait for Routing's session timeout (15 s in these fixtures) and its retry.
        Assert.True(elapsed < 2000, $"fallback after {elapsed:0} ms");

        var stats = await admin.GetStatsAsync(new GetStatsRequest());
        Assert.Equal(LowLimitRelayDeployment.MaxSessions, stats.SessionsStarted - startedBefore);
        foreach (var caller in admitted)
        {
            var before = caller.Received.Count;
            await Eventually.Until(() => Task.FromResult(caller.Received.Count), n => n > before + 25, Calls.Patience, "an admitted call to keep flowing");
        }
    }

    [Fact]
    public async Task A_burst_past_the_relays_limit_sends_every_excess_call_to_the_fallback_at_once_and_the_admitted_calls_have_audio()
    {
        const int Offered = LowLimitRelayDeployment.MaxSessions * 3;
        var deployment = fixture.Deployment;
        var reports = new ConcurrentQueue<RelayCapacity>();
        await using var bus = await ListenAsync(reports);
        using var channel = GrpcChannel.ForAddress(deployment.Relays[0].Url);
        var admin = new RelayAdmin.RelayAdminClient(channel);
        var botId = await deployment.IdOfAsync("users", "1003");
        // One call through the whole path first: what is measured is admission, not the first call's start-up cost
        // (issue 13 item 3) on a deployment that may have just started.
        var (warm, _, warmBot) = await Calls.DialBotAsync(deployment, $"ai_agent,{botId}", "1003");
        await warmBot.FirstAudio.Within(Calls.Patience, "the warm-up call's audio");
        await warm.HangUpAsync();
        var startedBefore = await IdleAsync(admin, reports);

        var calls = await Task.WhenAll(Enumerable.Range(0, Offered).Select(_ => Calls.DialAsync(deployment, $"ai_agent,{botId}", "1003")));
        try
        {
            await CheckBurstAsync(calls, admin, startedBefore);

            // A request Routing gave up on stays on the queue until its TTL (Routing's timeout, 15 s here). A relay that
            // resumes before then prepares a session for it that nobody claims, held until Relay:PendingSessionExpiry.
            // Counted while the relay is still full (it consumes nothing), then removed so the next test starts clean.
            await Eventually.Until(() => Task.FromResult(reports.Any(r => !r.Accepting)), full => full, Calls.Patience, "the relay to report it has no room");
            var given = await PurgeSessionRequestsAsync();
            output.WriteLine($"requests given up on while queued, still within their TTL when the calls end: {given}");
        }
        finally
        {
            await HangUpAsync(calls);
        }
    }

    private async Task CheckBurstAsync(SimulatedCall[] calls, RelayAdmin.RelayAdminClient admin, long startedBefore)
    {
        var deployment = fixture.Deployment;
        var offered = calls.Length;
        var targets = await Task.WhenAll(calls.Select(c => c.Continued.Within(Calls.Patience, $"call {c.ChannelId} to be continued")));

        var admitted = new List<SimulatedCall>();
        var excess = new List<(SimulatedCall Call, double Ms, string Reason)>();
        for (var i = 0; i < offered; i++)
        {
            var call = calls[i];
            var ms = Calls.Ms(call.StasisStartSentTimestamp, call.ContinuedTimestamp);
            if ((targets[i].Context, targets[i].Extension) == (deployment.InternalContext, FallbackExtension))
            {
                var record = await Calls.RecordAsync(deployment, call.ChannelId, r => (string?)r["outcome"] == "fallback", "fallback");
                excess.Add((call, ms, (string?)record["route_reason"] ?? ""));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{call.ChannelId}: fallback after {ms:0} ms ({record["route_reason"]})"));
            }
            else
            {
                admitted.Add(call);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{call.ChannelId}: AI session, continued to {targets[i].Context} after {ms:0} ms"));
            }
        }

        var times = excess.Select(e => e.Ms).Order().ToArray();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"offered {offered} at once to a relay of {LowLimitRelayDeployment.MaxSessions} sessions: {admitted.Count} admitted, {excess.Count} to the fallback, StasisStart -> fallback median {times[times.Length / 2]:0} ms, max {times[^1]:0} ms (issue 13's bound: 1000 ms)"));

        Assert.Equal(LowLimitRelayDeployment.MaxSessions, admitted.Count);
        foreach (var (call, ms, reason) in excess)
        {
            // Refused either way: the relay answered OverCapacity to the request and to its retry (before its report of
            // no room reached Routing), or Routing knew it had no room before a request or retry, or while one waited.
            Assert.Contains(reason, new[] { "ai-session-failed:no-relay-capacity", "ai-session-failed:over-capacity" });
            // Twice the issue's 1 s for a loaded 2-core machine; without capacity handling a request the relay no longer
            // consumes would wait for Routing's 15 s timeout here.
            Assert.True(ms < 2000, $"{call.ChannelId} reached the fallback after {ms:0} ms");
        }

        foreach (var call in admitted)
        {
            var caller = await call.AudioSocketDialled.Within(Calls.Patience, $"Asterisk to dial the relay for {call.ChannelId}");
            var bot = await Eventually.Until(() => Task.FromResult(deployment.Gateway.Sessions.FirstOrDefault(s => s.CallSid == call.ChannelId)),
                s => s is not null, Calls.Patience, $"the bot session of {call.ChannelId}");
            await bot!.FirstAudio.Within(Calls.Patience, $"caller audio of {call.ChannelId} to reach the bot");
            await Eventually.Until(() => Task.FromResult(caller.Received.Count(Calls.IsSound)), n => n >= 10, Calls.Patience,
                $"echoed bot audio to reach the caller of {call.ChannelId}");
        }

        var stats = await admin.GetStatsAsync(new GetStatsRequest());
        Assert.Equal(LowLimitRelayDeployment.MaxSessions, stats.SessionsStarted - startedBefore);
    }

    private async Task<uint> PurgeSessionRequestsAsync()
    {
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(fixture.RabbitMq) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        return await channel.QueuePurgeAsync(Endpoints.StartAiSessionQueue);
    }

    private static async Task HangUpAsync(IEnumerable<SimulatedCall> calls)
    {
        foreach (var call in calls)
        {
            await call.HangUpAsync();
        }
    }

    /// <summary>Waits until the relay holds no session and Routing has heard it has room; returns the sessions it has
    /// started so far.</summary>
    private static async Task<long> IdleAsync(RelayAdmin.RelayAdminClient admin, ConcurrentQueue<RelayCapacity> reports)
    {
        var stats = await Eventually.Until(async () => await admin.GetStatsAsync(new GetStatsRequest()),
            s => s.PendingSessions + s.LiveSessions == 0, Calls.Patience, "the relay to hold no session");
        reports.Clear();
        // Routing gets the same report (each instance has its own queue): once it is here, it is there or about to be.
        await Eventually.Until(() => Task.FromResult(reports.Any(r => r.Accepting && r.Sessions == 0)), room => room, Calls.Patience,
            "the relay to report room");
        return stats.SessionsStarted;
    }

    private async Task<TestBus> ListenAsync(ConcurrentQueue<RelayCapacity> reports) =>
        await TestBus.StartAsync(fixture.RabbitMq,
            x => x.AddConsumer<ReportConsumer>().Endpoint(e => (e.InstanceId, e.Temporary) = (Guid.NewGuid().ToString("N")[..12], true)),
            s => s.AddSingleton(reports));

    public sealed class ReportConsumer(ConcurrentQueue<RelayCapacity> reports) : IConsumer<RelayCapacity>
    {
        public Task Consume(ConsumeContext<RelayCapacity> context)
        {
            reports.Enqueue(context.Message);
            return Task.CompletedTask;
        }
    }
}

/// <summary>One relay that holds <see cref="MaxSessions"/> sessions and is limited by nothing else: the CPU it may use
/// is far beyond the machine's and tick lateness never counts, so what a busy 2-core test machine does to the relay's
/// timing cannot change which calls it admits.</summary>
public sealed class LowLimitRelayDeployment : DeploymentFixture
{
    public const int MaxSessions = 2;

    protected override IReadOnlyDictionary<string, string?>? RelaySettings => new Dictionary<string, string?>
    {
        ["Relay__MaxSessions"] = MaxSessions.ToString(CultureInfo.InvariantCulture),
        ["Relay__Capacity__Enabled"] = "true",
        ["Relay__Capacity__CpuMillicores"] = "1000000",
        ["Relay__Capacity__MaxLateTickRatio"] = "1",
        ["Relay__Capacity__Window"] = "00:00:00.500",
        ["Relay__Capacity__PublishInterval"] = "00:00:00.200",
        // A session prepared for a request Routing gave up on is released sooner than the default 30 s, so the next test
        // starts with an idle relay; an admitted call's Asterisk connects within a second.
        ["Relay__PendingSessionExpiry"] = "00:00:05",
    };
}
