using AstraPbx.Contracts.Calls;
using AstraPbx.Routing.CallRecords;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>The claims on a real database: a lease keeps other instances out until it ends or is released, the
/// decision is written only by the holder, and claims written before leases existed still work.</summary>
public sealed class StasisClaimStoreTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task A_running_lease_keeps_others_out_until_released_and_only_the_holder_writes_the_decision()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var store = new StasisClaimStore(db.DataSource);
        var call = RoutingHarness.Call("call-lease", "ai_agent", "3");

        var first = await store.ClaimAsync(call, null, "a", Lease, default);
        var second = await store.ClaimAsync(call, null, "b", Lease, default);
        Assert.True(first.Claimed);
        Assert.False(second.Claimed || second.Decided);
        Assert.Equal("a", second.HeldBy);
        Assert.InRange(second.LeaseLeft, TimeSpan.FromSeconds(1), Lease);

        Assert.False(await store.DecideAsync(call, Decision(), "b", default));
        await store.ReleaseAsync(call, "a", default);
        var taken = await store.ClaimAsync(call, null, "b", Lease, default);
        Assert.True(taken.Claimed);
        Assert.False(await store.DecideAsync(call, Decision(), "a", default));
        Assert.True(await store.DecideAsync(call, Decision(), "b", default));

        var duplicate = await store.ClaimAsync(call, null, "c", Lease, default);
        Assert.True(duplicate.Decided);
        Assert.False(duplicate.Claimed);
        Assert.Equal("dialplan|routing|b", await db.ScalarAsync<string>("SELECT outcome || '|' || decided_by || '|' || claimed_by FROM routing_decisions WHERE call_id = 'call-lease'"));
        Assert.Equal("dialplan|routing", await db.ScalarAsync<string>("SELECT outcome || '|' || decided_by FROM call_records WHERE call_id = 'call-lease'"));
    }

    [Fact]
    public async Task An_expired_lease_is_taken_over()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var store = new StasisClaimStore(db.DataSource);
        var call = RoutingHarness.Call("call-expired", "ai_agent", "3");
        await store.ClaimAsync(call, null, "a", Lease, default);
        await db.ExecuteAsync("UPDATE routing_decisions SET lease_until = now() - interval '1 second' WHERE call_id = 'call-expired'");

        var taken = await store.ClaimAsync(call, null, "b", Lease, default);

        Assert.True(taken.Claimed);
        Assert.Equal("b", await db.ScalarAsync<string>("SELECT claimed_by FROM routing_decisions WHERE call_id = 'call-expired'"));
    }

    [Fact]
    public async Task A_claim_written_before_leases_existed_lasts_one_lease_from_its_claim_time()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var store = new StasisClaimStore(db.DataSource);
        var fresh = RoutingHarness.Call("call-old-fresh", "ai_agent", "3");
        var stale = RoutingHarness.Call("call-old-stale", "ai_agent", "3");
        // As the previous version claimed: no instance, no lease.
        await db.ExecuteAsync("INSERT INTO routing_decisions (call_id, entered_at, stasis_args) VALUES ($1, $2, 'ai_agent,3')", fresh.CallId, fresh.EnteredAt.UtcDateTime);
        await db.ExecuteAsync("INSERT INTO routing_decisions (call_id, entered_at, stasis_args, claimed_at) VALUES ($1, $2, 'ai_agent,3', now() - interval '1 minute')", stale.CallId, stale.EnteredAt.UtcDateTime);

        var held = await store.ClaimAsync(fresh, null, "new", Lease, default);
        var taken = await store.ClaimAsync(stale, null, "new", Lease, default);

        Assert.False(held.Claimed || held.Decided);
        Assert.Null(held.HeldBy);
        Assert.True(held.LeaseLeft > TimeSpan.Zero);
        Assert.True(taken.Claimed);
    }

    private static RecordedDecision Decision() =>
        new(RouteOutcome.Dialplan, "ok", ["queue:5001", "extension:1001"], "org1-internal,1001,1", FallbackTaken.DecidedByRouting, DateTimeOffset.UtcNow);
}
