using AstraPbx.Routing.CallRecords;
using AstraPbx.Routing.Hosting;
using AstraPbx.Routing.Orchestration;
using AstraPbx.Routing.Warmup;
using AstraPbx.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>Routing's warm-up runs the resolver (rows of a seeded database too), the claim and the call record's end
/// writes on a real database and leaves nothing behind (it checks, inside its transaction, that the writes were made).</summary>
public sealed class RoutingWarmupTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static RoutingPathWarmup Step(NpgsqlDataSource dataSource, SchemaState schema, RoutingDatabase db, RoutingOptions? options = null) =>
        new(dataSource, schema, db.Resolver(), new StasisClaimStore(dataSource),
            new CallRecordStore(dataSource, NullLogger<CallRecordStore>.Instance), new DatabaseGuard(TimeProvider.System, NullLogger<DatabaseGuard>.Instance),
            new FixedOptions<RoutingOptions>(options ?? new RoutingOptions()), TimeProvider.System);

    [Fact]
    public async Task Warmup_runs_the_claim_and_rolls_it_back_each_pass()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var schema = new SchemaState();
        schema.MarkReady();
        var before = await db.ScalarAsync<long>("SELECT count(*) FROM routing_decisions");
        var records = await db.ScalarAsync<long>("SELECT count(*) FROM call_records");
        var endings = await db.ScalarAsync<long>("SELECT count(*) FROM ai_session_endings");

        var step = Step(db.DataSource, schema, db);
        await step.RunAsync(default);
        await step.RepeatAsync(3, default);

        Assert.Equal(before, await db.ScalarAsync<long>("SELECT count(*) FROM routing_decisions"));
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM call_records WHERE call_id LIKE 'warmup-%'"));
        Assert.Equal(records, await db.ScalarAsync<long>("SELECT count(*) FROM call_records"));
        Assert.Equal(endings, await db.ScalarAsync<long>("SELECT count(*) FROM ai_session_endings"));
    }

    [Fact]
    public async Task Warmup_leaves_two_open_connections_for_a_decisions_claim_and_resolve()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var schema = new SchemaState();
        schema.MarkReady();
        var name = "warmup-pool-" + Guid.NewGuid().ToString("N")[..8];
        await using var pool = new Npgsql.NpgsqlDataSourceBuilder(db.ConnectionString + ";Application Name=" + name).Build();

        await Step(pool, schema, db, new RoutingOptions { WarmConnections = 0 }).RunAsync(default);

        Assert.True(await db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name) >= 2);
    }

    [Fact]
    public async Task Warmup_opens_the_configured_number_of_pooled_connections()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var schema = new SchemaState();
        schema.MarkReady();
        var name = "warmup-pool-" + Guid.NewGuid().ToString("N")[..8];
        await using var pool = new Npgsql.NpgsqlDataSourceBuilder(db.ConnectionString + ";Application Name=" + name).Build();

        await Step(pool, schema, db, new RoutingOptions { WarmConnections = 7 }).RunAsync(default);

        Assert.Equal(7, await db.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name));
    }
}
