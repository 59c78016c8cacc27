using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>Routing and the ingress's edge fallback: Routing's attempts fit inside <c>DecideBy</c>, a message
/// consumed after it is not routed, and the ingress's decision (what happened to the channel) wins over Routing's.</summary>
public sealed class EdgeDecisionTests(PostgresFixture postgres, RabbitMqFixture rabbit) : IClassFixture<PostgresFixture>, IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task Relay_attempts_are_cut_so_that_the_fallback_is_sent_before_DecideBy()
    {
        // Uncut, two 3 s attempts would decide 6 s after entry, at the deadline; cut, the second attempt ends by 5 s.
        // A 1 s margin keeps the check clear of scheduling delays on a loaded machine.
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, o => (o.StartSessionTimeout, o.DecisionMargin) = (TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1)));
        h.Relay.Reply = (_, _) => RelayReply.Never;
        var call = RoutingHarness.Call("call-deadline", "ai_agent", "3") with { DecideBy = DateTimeOffset.UtcNow.AddSeconds(6) };

        await h.Bus.Bus.Publish(call);
        var fallback = await h.Next<ContinueInDialplan>(call.CallId);
        var routed = await h.Next<CallRouted>(call.CallId);

        Assert.Equal("fallback:ai-session-failed:timeout", fallback.Reason);
        Assert.Equal(call.EnteredAt, fallback.EnteredAt);
        Assert.Equal(2, h.Recorder.All<StartAiSession>(m => m.CallId == call.CallId).Count);
        Assert.True(routed.RoutedAt < call.DecideBy, $"decided at {routed.RoutedAt:O}, DecideBy {call.DecideBy:O}");
    }

    [Fact]
    public async Task With_too_little_time_left_before_DecideBy_no_relay_is_asked()
    {
        // DecideBy less the margin is 100 ms after entry: below the 200 ms an attempt needs.
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, o => o.DecisionMargin = TimeSpan.FromSeconds(29.9));
        var call = RoutingHarness.Call("call-no-time", "ai_agent", "3") with { DecideBy = DateTimeOffset.UtcNow.AddSeconds(30) };

        await h.Bus.Bus.Publish(call);
        var fallback = await h.Next<ContinueInDialplan>(call.CallId);
        await h.Log(5020, call.CallId);

        Assert.Equal("fallback:ai-session-failed:no-time-left", fallback.Reason);
        Assert.Empty(h.Recorder.All<StartAiSession>());
    }

    [Fact]
    public async Task A_call_consumed_after_its_DecideBy_is_not_routed_and_its_entry_is_recorded()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        var call = RoutingHarness.Call("call-late", "ai_agent", "3") with { DecideBy = DateTimeOffset.UtcNow.AddSeconds(-1) };

        await h.Bus.Bus.Publish(call);
        await h.Recorder.WaitAsync<Consumed<CallEnteredStasis>>(c => c.Message.CallId == call.CallId).Within(RoutingHarness.Timeout, "the late entry consumed");
        await h.Log(5013, call.CallId);
        await h.DrainIngressAsync();

        Assert.Empty(h.Commands(call.CallId));
        Assert.Empty(h.Recorder.All<StartAiSession>());
        Assert.Equal("null|1", await h.Database.ScalarAsync<string>(
            "SELECT coalesce(d.outcome, 'null') || '|' || c.stasis_entries FROM routing_decisions d JOIN call_records c USING (call_id) WHERE call_id = $1", call.CallId));
    }

    [Fact]
    public async Task The_edge_decision_replaces_a_routing_decision_for_the_same_entry_and_a_late_databaseless_one_does_not()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        await h.Database.ExecuteAsync("UPDATE queues SET timeout_destination = '1001' WHERE id = 1");
        var call = RoutingHarness.Call("call-edge-wins", "queue_timeout", "1");
        await h.Bus.Bus.Publish(call);
        await h.Next<ContinueInDialplan>(call.CallId);
        await Eventually.Until(() => RecordOf(h, call.CallId), r => r == "dialplan|routing|ok", RoutingHarness.Timeout, "Routing's decision recorded");

        await h.Bus.Bus.Publish(Decision(call, FallbackTaken.DecidedByIngress, "edge:no-command-within-2500ms"));
        await Eventually.Until(() => RecordOf(h, call.CallId), r => r == "fallback|ingress|edge:no-command-within-2500ms", RoutingHarness.Timeout, "the edge decision recorded");
        await h.Bus.Bus.Publish(Decision(call, FallbackTaken.DecidedByRouting, "database-unavailable"));
        await h.Recorder.WaitCountAsync<Consumed<FallbackTaken>>(c => c.Message.Entry.CallId == call.CallId, 2).Within(RoutingHarness.Timeout, "both decisions consumed");

        Assert.Equal("fallback|ingress|edge:no-command-within-2500ms", await RecordOf(h, call.CallId));
        Assert.Equal("fallback|ingress", await h.Database.ScalarAsync<string>("SELECT outcome || '|' || decided_by FROM routing_decisions WHERE call_id = $1", call.CallId));
    }

    [Fact]
    public async Task An_edge_decision_for_a_later_entry_does_not_replace_nor_get_replaced_by_an_earlier_entry()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        var first = RoutingHarness.Call("call-edge-order", "ai_agent", "3");
        var second = first with { EnteredAt = first.EnteredAt.AddSeconds(40), StasisArgs = ["ai_failed", Guid.NewGuid().ToString()], Extension = "s" };

        // The later entry's edge decision is recorded before the earlier entry is routed.
        await h.Bus.Bus.Publish(Decision(second, FallbackTaken.DecidedByIngress, "edge:no-command-within-2500ms"));
        await h.Recorder.WaitAsync<Consumed<FallbackTaken>>(c => c.Message.Entry.CallId == first.CallId).Within(RoutingHarness.Timeout, "the edge decision consumed");
        await h.Bus.Bus.Publish(first);
        await h.Next<ConnectToRelay>(first.CallId);
        await Eventually.Until(() => h.Database.ScalarAsync<long>("SELECT count(*) FROM routing_decisions WHERE call_id = $1 AND outcome IS NOT NULL", first.CallId),
            n => n == 2, RoutingHarness.Timeout, "both entries decided");

        Assert.Equal("fallback|ingress|edge:no-command-within-2500ms", await RecordOf(h, first.CallId));
        Assert.Equal(2, await h.Database.ScalarAsync<int>("SELECT stasis_entries FROM call_records WHERE call_id = $1", first.CallId));
        Assert.Equal("5001", await h.Database.ScalarAsync<string>("SELECT extension FROM call_records WHERE call_id = $1", first.CallId));
    }

    [Fact]
    public async Task A_routing_decision_made_after_the_edge_fallback_took_the_entry_sends_no_command()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        var call = RoutingHarness.Call("call-edge-first", "ai_agent", "3");
        // While the relay prepares the session, the ingress's edge fallback fires and is recorded.
        h.Relay.BeforeReply = async context =>
        {
            await context.Publish(Decision(call, FallbackTaken.DecidedByIngress, "edge:no-command-within-2500ms"));
            await h.Recorder.WaitAsync<Consumed<FallbackTaken>>(c => c.Message.Entry.CallId == call.CallId).Within(RoutingHarness.Timeout, "the edge decision recorded");
        };

        await h.Bus.Bus.Publish(call);
        await h.Recorder.WaitAsync<Consumed<CallEnteredStasis>>(c => c.Message.CallId == call.CallId).Within(RoutingHarness.Timeout, "the entry consumed");
        await h.Log(5006, call.CallId);
        await h.DrainIngressAsync();

        Assert.Single(h.Recorder.All<StartAiSession>(m => m.CallId == call.CallId));
        Assert.Empty(h.Commands(call.CallId));
        Assert.Empty(h.Recorder.All<CallRouted>(m => m.CallId == call.CallId));
        Assert.Equal("fallback|ingress|edge:no-command-within-2500ms", await RecordOf(h, call.CallId));
    }

    private static FallbackTaken Decision(CallEnteredStasis entry, string decidedBy, string reason) => new()
    {
        Entry = entry,
        DecidedBy = decidedBy,
        Outcome = RouteOutcome.Fallback,
        Reason = reason,
        Destination = "reception,9000,1",
        TakenAt = entry.EnteredAt.AddMilliseconds(2500),
    };

    private static Task<string?> RecordOf(RoutingHarness h, string callId) =>
        h.Database.ScalarAsync<string>("SELECT outcome || '|' || decided_by || '|' || route_reason FROM call_records WHERE call_id = $1", callId);
}
