using AstraPbx.Routing.Data;
using AstraPbx.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit;

namespace AstraPbx.Routing.Tests;

public sealed class SchemaTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [Fact]
    public async Task Migrations_run_twice_apply_nothing_the_second_time_and_the_seed_can_be_rerun()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var again = await DatabaseMigrator.MigrateAsync(db.ConnectionString, NullLogger.Instance, default);
        await Seeder.SeedAsync(db.DataSource, "wss://other.example/ws?key=k2");

        Assert.Empty(again);
        Assert.Equal(4L, await db.ScalarAsync<long>("SELECT count(*) FROM users"));
        Assert.Equal("wss://other.example/ws?key=k2", await db.ScalarAsync<string>("SELECT routing_destination FROM users WHERE extension = '1003'"));
        Assert.Equal(2L, await db.ScalarAsync<long>("SELECT count(*) FROM queue_members WHERE queue_id = 1"));
        // The identity sequences were moved past the seed's fixed ids.
        Assert.Equal(5, await db.ScalarAsync<int>("INSERT INTO users (organization_id, extension, name, routing_type) VALUES (1, '1010', 'New', 'sip') RETURNING id"));
    }

    [Theory]
    [InlineData("INSERT INTO users (organization_id, extension, name, routing_type) VALUES (1, '1001', 'Twin', 'sip')", "users_extension_unique_per_org")]
    [InlineData("INSERT INTO users (organization_id, extension, name, routing_type) VALUES (1, '1009', 'X', 'fax')", "users_routing_type_check")]
    [InlineData("INSERT INTO users (organization_id, extension, name, routing_type, ai_media_mode) VALUES (1, '1009', 'X', 'ai_agent', 'opus')", "users_ai_media_mode_check")]
    [InlineData("INSERT INTO users (organization_id, extension, name, routing_type, status) VALUES (1, '1009', 'X', 'sip', 'away')", "users_status_check")]
    [InlineData("INSERT INTO queues (organization_id, number, name) VALUES (1, '5001', 'twin')", "queues_number_unique_per_org")]
    [InlineData("UPDATE queues SET timeout_destination_type = 'voicemail' WHERE id = 1", "queues_timeout_destination_type_check")]
    [InlineData("UPDATE queues SET timeout_destination = NULL WHERE id = 1", "queues_timeout_destination_present")]
    [InlineData("UPDATE queues SET strategy = 'loudest' WHERE id = 1", "queues_strategy_check")]
    [InlineData("INSERT INTO organizations (name, context_prefix) VALUES ('Bad', 'Org]1')", "organizations_context_prefix_check")]
    public async Task Constraints_reject_rows_that_can_never_route(string sql, string constraint)
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var error = await Assert.ThrowsAsync<PostgresException>(() => db.ExecuteAsync(sql));
        Assert.Equal(constraint, error.ConstraintName);
    }
}
