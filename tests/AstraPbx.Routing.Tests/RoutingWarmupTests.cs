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

    [Fact]
    public async Task Warmup_leaves_two_open_connections_for_a_decisions_claim_and_resolve()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var schema = new SchemaState();
        schema.MarkReady();
        var name = "warmup-pool-" + Guid.NewGuid().ToString("N")[..8];
        await using var pool = new Npgsql.NpgsqlDataSourceBuilder(db.ConnectionString + ";Application Name=" + name).Build();

        await new RoutingPathWarmup(pool, schema, db.Resolver(), new StasisClaimStore(pool)).RunAsync(default);

        Assert.True(await db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name) >= 2);
    }
}
