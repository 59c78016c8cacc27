using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>Routing while its database is unreachable: the database sits behind a <see cref="TcpProxy"/> the test
/// stops (connections reset, new ones refused) and starts again; the shared PostgreSQL keeps running.</summary>
public sealed class RoutingDatabaseFaultTests(PostgresFixture postgres, RabbitMqFixture rabbit) : IClassFixture<PostgresFixture>, IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task Database_down_at_entry_sends_the_fallback_at_once_and_records_it_once_the_database_is_back()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, databaseProxy: true);
        h.DatabaseProxy!.Stop();
        var call = RoutingHarness.Call("call-db-down", "ai_agent", "3") with { DecideBy = DateTimeOffset.UtcNow.AddSeconds(10) };

        var published = DateTimeOffset.UtcNow;
        await h.Bus.Bus.Publish(call);
        var fallback = await h.Next<ContinueInDialplan>(call.CallId);
        var arrived = DateTimeOffset.UtcNow;
        var routed = await h.Next<CallRouted>(call.CallId);
        await h.Recorder.WaitAsync<Consumed<CallEnteredStasis>>(c => c.Message.CallId == call.CallId).Within(RoutingHarness.Timeout, "the entry acknowledged");
        await h.DrainIngressAsync();

        Assert.Equal(("org1-internal", "9000", "fallback:database-unavailable"), (fallback.Context, fallback.Extension, fallback.Reason));
        Assert.Equal(call.EnteredAt, fallback.EnteredAt);
        // The target is well under a second (two refused connections and a 200 ms pause); 5 s leaves room for a
        // loaded machine while still far below the 10 s the call would otherwise wait for the edge fallback.
        Assert.True(arrived - published < TimeSpan.FromSeconds(5), $"the fallback took {(arrived - published).TotalMilliseconds:0} ms");
        Assert.Equal((RouteOutcome.Fallback, "database-unavailable"), (routed.Outcome, routed.Reason));
        Assert.Empty(h.Recorder.All<StartAiSession>());
        Assert.Empty(h.Recorder.All<Faulted<CallEnteredStasis>>());
        Assert.Empty(h.Recorder.All<Parked>());
        Assert.Single(h.Commands(call.CallId));

        h.DatabaseProxy.Start();
        Assert.Equal("fallback|routing|database-unavailable|1", await RecordOf(h, call.CallId));
        Assert.Equal("fallback|routing", await h.Database.ScalarAsync<string>(
            "SELECT outcome || '|' || decided_by FROM routing_decisions WHERE call_id = $1", call.CallId));
    }

    [Fact]
    public async Task Database_lost_after_the_claim_sends_the_fallback_instead_of_the_ai_session_and_records_it_once_back()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, databaseProxy: true);
        // The claim and the route are read; the database goes while the relay prepares the session.
        h.Relay.BeforeReply = _ =>
        {
            h.DatabaseProxy!.Stop();
            return Task.CompletedTask;
        };
        var call = RoutingHarness.Call("call-db-lost", "ai_agent", "3") with { DecideBy = DateTimeOffset.UtcNow.AddSeconds(10) };

        await h.Bus.Bus.Publish(call);
        var fallback = await h.Next<ContinueInDialplan>(call.CallId);
        await h.Recorder.WaitAsync<Consumed<CallEnteredStasis>>(c => c.Message.CallId == call.CallId).Within(RoutingHarness.Timeout, "the entry acknowledged");
        var failed = await h.Log(5014, call.CallId);
        await h.DrainIngressAsync();

        Assert.Equal("fallback:database-unavailable", fallback.Reason);
        Assert.Equal(call.EnteredAt, fallback.EnteredAt);
        Assert.Contains("database decision failed", failed.Message, StringComparison.Ordinal);
        Assert.Single(h.Commands(call.CallId));
        Assert.Empty(h.Recorder.All<Parked>());

        h.DatabaseProxy!.Start();
        Assert.Equal("fallback|routing|database-unavailable|1", await RecordOf(h, call.CallId));
        Assert.Equal(RoutingHarness.InstanceId(h.Bus), await h.Database.ScalarAsync<string>(
            "SELECT claimed_by FROM routing_decisions WHERE call_id = $1", call.CallId));
    }

    [Fact]
    public async Task Without_the_database_a_call_that_comes_back_from_the_fallback_is_hung_up()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, databaseProxy: true);
        h.DatabaseProxy!.Stop();
        var first = RoutingHarness.Call("call-db-circle", "queue_timeout", "1");

        await h.Bus.Bus.Publish(first);
        await h.Next<ContinueInDialplan>(first.CallId);
        var second = first with { EnteredAt = first.EnteredAt.AddSeconds(31) };
        await h.Bus.Bus.Publish(second);
        var hangup = await h.Next<HangupCall>(first.CallId);
        await h.Recorder.WaitCountAsync<CallRouted>(m => m.CallId == first.CallId, 2).Within(RoutingHarness.Timeout, "both decisions published");
        await h.DrainIngressAsync();

        Assert.Equal(second.EnteredAt, hangup.EnteredAt);
        Assert.Equal((RouteOutcome.Hangup, "fallback-already-taken:database-unavailable"),
            (h.Recorder.All<CallRouted>(m => m.CallId == first.CallId)[1].Outcome, h.Recorder.All<CallRouted>(m => m.CallId == first.CallId)[1].Reason));
        Assert.Equal(2, h.Commands(first.CallId).Count);
    }

    [Fact]
    public async Task A_fallback_taken_while_the_database_is_down_is_recorded_once_it_is_back()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, databaseProxy: true);
        h.DatabaseProxy!.Stop();
        var entry = RoutingHarness.Call("call-edge-late", "ai_agent", "3");
        await h.Bus.Bus.Publish(Edge(entry));

        // Two failed writes (at 0 s and 1 s) prove the record waited for the database rather than being dropped.
        await h.Recorder.WaitCountAsync<LogLine>(l => l.EventId == 5021 && l.Message.Contains(entry.CallId, StringComparison.Ordinal), 2)
            .Within(RoutingHarness.Timeout, "two deferred writes");
        h.DatabaseProxy.Start();

        Assert.Equal("fallback|ingress|edge:no-command-within-2500ms|1", await RecordOf(h, entry.CallId));
        Assert.Equal("fallback|ingress", await h.Database.ScalarAsync<string>(
            "SELECT outcome || '|' || decided_by FROM routing_decisions WHERE call_id = $1", entry.CallId));
        Assert.Equal(1, await h.Database.ScalarAsync<int>(
            "SELECT stasis_entries FROM call_records WHERE call_id = $1 AND entered_at IS NOT NULL AND extension = '5001'", entry.CallId));
    }

    [Fact]
    public async Task A_hangup_outlives_a_database_restart_longer_than_the_old_retries()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, databaseProxy: true);
        h.DatabaseProxy!.Stop();
        var ended = new CallEnded { CallId = "call-ended-late", AsteriskId = RoutingHarness.AsteriskId, Cause = 16, CauseText = "Normal Clearing", EndedAt = DateTimeOffset.UtcNow };
        await h.Bus.Bus.Publish(ended);

        // Four failed writes: as many as the old retry (200 ms, 1 s, 5 s) allowed before parking the hangup in _error.
        await h.Recorder.WaitCountAsync<LogLine>(l => l.EventId == 5021 && l.Message.Contains(ended.CallId, StringComparison.Ordinal), 4)
            .Within(TimeSpan.FromSeconds(60), "four deferred writes");
        h.DatabaseProxy.Start();

        await h.Recorder.WaitAsync<Consumed<CallEnded>>(c => c.Message.CallId == ended.CallId).Within(TimeSpan.FromSeconds(60), "the hangup recorded");
        Assert.Equal(16, await h.Database.ScalarAsync<int>("SELECT hangup_cause FROM call_records WHERE call_id = $1 AND ended_at IS NOT NULL", ended.CallId));
        Assert.Empty(h.Recorder.All<Faulted<CallEnded>>());
    }

    private static FallbackTaken Edge(CallEnteredStasis entry) => new()
    {
        Entry = entry,
        DecidedBy = FallbackTaken.DecidedByIngress,
        Outcome = RouteOutcome.Fallback,
        Reason = "edge:no-command-within-2500ms",
        Destination = "reception,9000,1",
        TakenAt = entry.EnteredAt.AddMilliseconds(2500),
    };

    /// <summary>outcome|decided_by|route_reason|stasis_entries of the call record, once it has an outcome.</summary>
    private static Task<string?> RecordOf(RoutingHarness h, string callId) => Eventually.Until(
        () => h.Database.ScalarAsync<string>("SELECT outcome || '|' || decided_by || '|' || route_reason || '|' || stasis_entries FROM call_records WHERE call_id = $1", callId),
        r => r is not null, RoutingHarness.Timeout, "the recorded decision of " + callId);
}
