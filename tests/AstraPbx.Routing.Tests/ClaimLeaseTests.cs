using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.LocalRun;
using AstraPbx.Testing;
using Grpc.Health.V1;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>Two Routing instances on one broker and database: a claim whose instance died is taken over once its
/// lease ends, a stopping instance gives its claim back, and every Stasis entry gets exactly one command.</summary>
public sealed class ClaimLeaseTests(PostgresFixture postgres, RabbitMqFixture rabbit) : IClassFixture<PostgresFixture>, IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_routing_process_killed_between_claim_and_command_is_taken_over_after_its_lease_with_exactly_one_command()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, routing: false);
        // The first request (the killed process's) is never answered; the second is.
        h.Relay.Reply = (_, n) => n == 1 ? RelayReply.Never : RelayReply.Ready;
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        var killed = ServiceProcess.Start("AstraPbx.Routing", ["--urls", url], h.RoutingProcessEnvironment(new Dictionary<string, string?>
        {
            ["Routing__StartSessionTimeout"] = "00:01:00",
            ["Routing__StartSessionRetries"] = "0",
            ["Routing__ClaimLease"] = "00:00:03",
        }));
        var killedPid = 0;
        try
        {
            await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == HealthCheckResponse.Types.ServingStatus.Serving, ProcessTimeout, "the first Routing serving\n" + killed.OutputText);
            var call = RoutingHarness.Call("call-killed", "ai_agent", "3");
            await h.Bus.Bus.Publish(call);
            await h.Next<StartAiSession>(call.CallId);
            var survivor = await h.StartRoutingAsync();

            // SIGKILL while it waits for the relay: no release, the message goes back to the queue unacknowledged.
            killedPid = killed.Pid;
            await killed.DisposeAsync();
            var connect = await h.Next<ConnectToRelay>(call.CallId);
            await h.Recorder.WaitAsync<Consumed<CallEnteredStasis>>(c => c.Message.CallId == call.CallId).Within(RoutingHarness.Timeout, "the survivor's consume");
            var waited = await h.Log(5007, call.CallId);
            await h.DrainIngressAsync();

            var requests = h.Recorder.All<StartAiSession>(m => m.CallId == call.CallId);
            Assert.Equal(2, requests.Count);
            Assert.Equal(requests[1].SessionId, connect.SessionId);
            Assert.Equal(call.EnteredAt, connect.EnteredAt);
            Assert.Single(h.Commands(call.CallId));
            Assert.Contains($"claimed by {Environment.MachineName}:{killedPid}:", waited.Message, StringComparison.Ordinal);
            Assert.Equal($"ai_agent|{RoutingHarness.InstanceId(survivor)}", await h.Database.ScalarAsync<string>(
                "SELECT outcome || '|' || claimed_by FROM routing_decisions WHERE call_id = $1", call.CallId));
        }
        finally
        {
            if (killedPid == 0)
            {
                await killed.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_stopping_instance_gives_its_claim_back_and_another_decides_at_once()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, routing: false);
        h.Relay.Reply = (_, n) => n == 1 ? RelayReply.Never : RelayReply.Ready;
        // A lease far longer than the test's patience: only a release lets the other instance decide in time.
        var stopping = await h.StartRoutingAsync(
            o => (o.StartSessionTimeout, o.StartSessionRetries, o.ClaimLease) = (TimeSpan.FromSeconds(60), 0, TimeSpan.FromMinutes(5)),
            s => s.Configure<MassTransitHostOptions>(o => o.ConsumerStopTimeout = TimeSpan.FromMilliseconds(200)));
        var call = RoutingHarness.Call("call-stopped", "ai_agent", "3");
        await h.Bus.Bus.Publish(call);
        await h.Next<StartAiSession>(call.CallId);
        var other = await h.StartRoutingAsync();

        await stopping.DisposeAsync();
        var connect = await h.Next<ConnectToRelay>(call.CallId);
        await h.Log(5018, call.CallId);
        await h.Recorder.WaitAsync<Consumed<CallEnteredStasis>>(c => c.Message.CallId == call.CallId).Within(RoutingHarness.Timeout, "the other instance's consume");
        await h.DrainIngressAsync();

        Assert.Equal(h.Recorder.All<StartAiSession>(m => m.CallId == call.CallId)[1].SessionId, connect.SessionId);
        Assert.Single(h.Commands(call.CallId));
        Assert.Empty(h.Recorder.All<Parked>());
        Assert.Equal(RoutingHarness.InstanceId(other), await h.Database.ScalarAsync<string>("SELECT claimed_by FROM routing_decisions WHERE call_id = $1", call.CallId));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_same_entry_delivered_to_two_instances_at_once_gets_exactly_one_command(bool withDecideBy)
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, routing: false);
        await h.StartRoutingAsync();
        await h.StartRoutingAsync();
        var call = RoutingHarness.Call("call-twice-" + withDecideBy, "ai_agent", "3") with { DecideBy = withDecideBy ? DateTimeOffset.UtcNow.AddSeconds(10) : null };

        await Task.WhenAll(h.Bus.Bus.Publish(call), h.Bus.Bus.Publish(call));
        await h.Recorder.WaitCountAsync<Consumed<CallEnteredStasis>>(c => c.Message.CallId == call.CallId, 2).Within(RoutingHarness.Timeout, "both deliveries consumed");
        await h.DrainIngressAsync();

        Assert.Single(h.Commands(call.CallId));
        Assert.IsType<ConnectToRelay>(h.Commands(call.CallId)[0]);
        Assert.Single(h.Recorder.All<StartAiSession>(m => m.CallId == call.CallId));
    }
}
