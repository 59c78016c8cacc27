using AstraPbx.Routing.CallRecords;
using AstraPbx.Routing.Hosting;
using AstraPbx.Routing.Warmup;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>Routing's warm-up runs the resolver and the claim on a real database and leaves nothing behind.</summary>
public sealed class RoutingWarmupTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Warmup_runs_the_claim_and_rolls_it_back()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var schema = new SchemaState();
        schema.MarkReady();
        var before = await db.ScalarAsync<long>("SELECT count(*) FROM routing_decisions");

        await new RoutingPathWarmup(db.DataSource, schema, db.Resolver(), new StasisClaimStore(db.DataSource)).RunAsync(default);

        Assert.Equal(before, await db.ScalarAsync<long>("SELECT count(*) FROM routing_decisions"));
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM call_records WHERE call_id LIKE 'warmup-%'"));
    }
}
