using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Data;
using AstraPbx.Routing.Resolution;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>The resolver against a real PostgreSQL holding the seed, changed row by row.</summary>
public sealed class RouteResolverTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly int[] NoHistory = [];

    [Fact]
    public async Task Seed_queue_timeout_follows_extension_1003_to_the_ai_agent()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var decision = await db.Resolver().ResolveAsync(["queue_timeout", "1"], NoHistory, default);

        Assert.Equal(RouteOutcome.AiAgent, decision.Outcome);
        Assert.Equal(Reasons.Ok, decision.Reason);
        Assert.Equal(["queue:5001", "extension:1003", "ai_agent:3"], decision.Path);
        Assert.Equal(Seeder.DefaultGatewayUrl, decision.GatewayUrl);
        Assert.Equal(MediaMode.AstraPbxBinary, decision.MediaMode);
        Assert.Equal("ws://127.0.0.1:8765/ws/org-1/bot-1?key=***", decision.Destination);
    }

    [Fact]
    public async Task Ai_agent_argument_resolves_that_users_gateway_and_media_mode()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync("UPDATE users SET ai_media_mode = 'twilio', routing_destination = 'wss://bots.example/ws/a/b?key=ak_x' WHERE id = 3");

        var decision = await db.Resolver().ResolveAsync(["ai_agent", "3"], NoHistory, default);

        Assert.Equal(RouteOutcome.AiAgent, decision.Outcome);
        Assert.Equal(["ai_agent:3"], decision.Path);
        Assert.Equal("wss://bots.example/ws/a/b?key=ak_x", decision.GatewayUrl);
        Assert.Equal(MediaMode.Twilio, decision.MediaMode);
        Assert.DoesNotContain("ak_x", decision.Destination, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Timeout_to_a_sip_extension_continues_in_the_internal_context()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync("UPDATE queues SET timeout_destination = '1002' WHERE id = 1");

        var decision = await db.Resolver().ResolveAsync(["queue_timeout", "1"], NoHistory, default);

        Assert.Equal(RouteOutcome.Dialplan, decision.Outcome);
        Assert.Equal(("org1-internal", "1002", 1), (decision.Context, decision.Extension, decision.Priority));
        Assert.Equal(["queue:5001", "extension:1002", "sip:1002"], decision.Path);
    }

    [Fact]
    public async Task Timeout_to_a_queue_with_members_continues_at_that_queues_extension()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync("INSERT INTO queues (id, organization_id, number, name, timeout_destination_type) VALUES (2, 1, '5002', 'sales', 'none')");
        await db.ExecuteAsync("INSERT INTO queue_members (queue_id, user_id, position) VALUES (2, 2, 1)");
        await db.ExecuteAsync("UPDATE queues SET timeout_destination = '5002', timeout_destination_type = 'queue' WHERE id = 1");

        var decision = await db.Resolver().ResolveAsync(["queue_timeout", "1"], NoHistory, default);

        Assert.Equal(RouteOutcome.Dialplan, decision.Outcome);
        Assert.Equal(("org1-internal", "5002"), (decision.Context, decision.Extension));
        Assert.Equal(["queue:5001", "queue:5002"], decision.Path);
    }

    [Fact]
    public async Task Timeout_to_a_phone_number_continues_in_the_outbound_context()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync("UPDATE queues SET timeout_destination = '+4930123456', timeout_destination_type = 'phone' WHERE id = 1");

        var decision = await db.Resolver().ResolveAsync(["queue_timeout", "1"], NoHistory, default);

        Assert.Equal(RouteOutcome.Dialplan, decision.Outcome);
        Assert.Equal(("org1-outbound", "+4930123456"), (decision.Context, decision.Extension));
    }

    [Fact]
    public async Task Timeout_to_a_phone_user_continues_in_the_outbound_context()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync("INSERT INTO users (organization_id, extension, name, routing_type, routing_destination) VALUES (1, '1005', 'Mobile', 'phone', '0049301234')");
        await db.ExecuteAsync("UPDATE queues SET timeout_destination = '1005' WHERE id = 1");

        var decision = await db.Resolver().ResolveAsync(["queue_timeout", "1"], NoHistory, default);

        Assert.Equal(("org1-outbound", "0049301234"), (decision.Context, decision.Extension));
        Assert.Equal(["queue:5001", "extension:1005", "phone:0049301234"], decision.Path);
    }

    [Fact]
    public async Task Timeout_destination_none_hangs_up_and_says_so()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync("UPDATE queues SET timeout_destination = NULL, timeout_destination_type = 'none' WHERE id = 1");

        var decision = await db.Resolver().ResolveAsync(["queue_timeout", "1"], NoHistory, default);

        Assert.Equal(RouteOutcome.Hangup, decision.Outcome);
        Assert.Equal(Reasons.NoTimeoutDestination, decision.Reason);
    }

    [Fact]
    public async Task Queue_timing_out_to_itself_is_a_loop_and_ends_in_the_fallback()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync("UPDATE queues SET timeout_destination = '5001', timeout_destination_type = 'queue' WHERE id = 1");

        var decision = await db.Resolver().ResolveAsync(["queue_timeout", "1"], NoHistory, default);

        AssertFallback(decision, Reasons.Loop);
        Assert.Equal(["queue:5001", "queue:5001"], decision.Path);
    }

    [Fact]
    public async Task Loop_through_an_empty_queue_is_detected_in_one_decision()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync("INSERT INTO queues (id, organization_id, number, name, timeout_destination, timeout_destination_type) VALUES (2, 1, '5002', 'empty', '5001', 'queue')");
        await db.ExecuteAsync("UPDATE queues SET timeout_destination = '5002', timeout_destination_type = 'queue' WHERE id = 1");

        var decision = await db.Resolver().ResolveAsync(["queue_timeout", "1"], NoHistory, default);

        AssertFallback(decision, Reasons.Loop);
        Assert.Equal(["queue:5001", "queue:5002", "queue:5001"], decision.Path);
    }

    [Fact]
    public async Task Loop_across_stasis_entries_of_one_call_is_detected()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync("INSERT INTO queues (id, organization_id, number, name, timeout_destination, timeout_destination_type) VALUES (2, 1, '5002', 'sales', '5001', 'queue')");
        await db.ExecuteAsync("INSERT INTO queue_members (queue_id, user_id, position) VALUES (2, 2, 1)");
        await db.ExecuteAsync("UPDATE queues SET timeout_destination = '5002', timeout_destination_type = 'queue' WHERE id = 1");
        var resolver = db.Resolver();

        var first = await resolver.ResolveAsync(["queue_timeout", "1"], NoHistory, default);
        var second = await resolver.ResolveAsync(["queue_timeout", "2"], [1], default);

        Assert.Equal(RouteOutcome.Dialplan, first.Outcome);
        AssertFallback(second, Reasons.Loop);
    }

    [Fact]
    public async Task Empty_queue_with_no_destination_is_a_dead_end()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync("INSERT INTO queues (id, organization_id, number, name) VALUES (2, 1, '5002', 'nobody')");
        await db.ExecuteAsync("UPDATE queues SET timeout_destination = '5002', timeout_destination_type = 'queue' WHERE id = 1");

        AssertFallback(await db.Resolver().ResolveAsync(["queue_timeout", "1"], NoHistory, default), Reasons.DeadEnd);
    }

    [Theory]
    [InlineData("UPDATE queues SET timeout_destination = '1999' WHERE id = 1", "queue_timeout", "1", Reasons.ExtensionNotFound)]
    [InlineData("UPDATE queues SET timeout_destination = '5999', timeout_destination_type = 'queue' WHERE id = 1", "queue_timeout", "1", Reasons.QueueNotFound)]
    [InlineData("SELECT 1", "queue_timeout", "42", Reasons.QueueNotFound)]
    [InlineData("SELECT 1", "ai_agent", "42", Reasons.UserNotFound)]
    [InlineData("UPDATE users SET status = 'inactive' WHERE id = 3", "queue_timeout", "1", Reasons.UserInactive)]
    [InlineData("UPDATE users SET status = 'inactive' WHERE id = 3", "ai_agent", "3", Reasons.UserInactive)]
    [InlineData("UPDATE users SET routing_destination = 'http://bots.example/ws?key=k' WHERE id = 3", "ai_agent", "3", Reasons.InvalidGatewayUrl)]
    [InlineData("UPDATE users SET routing_destination = '' WHERE id = 3", "queue_timeout", "1", Reasons.InvalidGatewayUrl)]
    [InlineData("UPDATE users SET routing_destination = NULL WHERE id = 3", "ai_agent", "3", Reasons.InvalidGatewayUrl)]
    [InlineData("UPDATE users SET routing_destination = 'ws://' WHERE id = 3", "ai_agent", "3", Reasons.InvalidGatewayUrl)]
    [InlineData("UPDATE queues SET timeout_destination = '12;Hangup', timeout_destination_type = 'phone' WHERE id = 1", "queue_timeout", "1", Reasons.InvalidPhoneNumber)]
    [InlineData("UPDATE users SET endpoint = 'PJSIP/1001&PJSIP/1002' WHERE id = 1; UPDATE queues SET timeout_destination = '1001' WHERE id = 1", "queue_timeout", "1", Reasons.InvalidEndpoint)]
    [InlineData("SELECT 1", "ai_agent", "x1", Reasons.BadStasisArgument)]
    [InlineData("SELECT 1", "queue_timeout", "-1", Reasons.BadStasisArgument)]
    [InlineData("SELECT 1", "dance", "1", Reasons.UnknownStasisArgs)]
    [InlineData("SELECT 1", "ai_failed", "3f2c5a4e-0000-4000-8000-000000000001", Reasons.RelayFailed)]
    public async Task Every_kind_of_bad_row_ends_in_the_fallback_with_its_reason(string change, string kind, string argument, string reason)
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync(change);

        AssertFallback(await db.Resolver().ResolveAsync([kind, argument], NoHistory, default), reason);
    }

    [Fact]
    public async Task Without_a_configured_fallback_the_call_is_hung_up_with_the_reason()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var decision = await db.Resolver(new RoutingOptions()).ResolveAsync(["ai_agent", "42"], NoHistory, default);

        Assert.Equal(RouteOutcome.Hangup, decision.Outcome);
        Assert.Equal(Reasons.UserNotFound, decision.Reason);
    }

    [Fact]
    public async Task A_database_change_applies_to_the_next_call()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var resolver = db.Resolver();
        var before = await resolver.ResolveAsync(["queue_timeout", "1"], NoHistory, default);

        await db.ExecuteAsync("UPDATE queues SET timeout_destination = '1001' WHERE id = 1");
        var after = await resolver.ResolveAsync(["queue_timeout", "1"], NoHistory, default);

        Assert.Equal(RouteOutcome.AiAgent, before.Outcome);
        Assert.Equal(RouteOutcome.Dialplan, after.Outcome);
        Assert.Equal("1001", after.Extension);
    }

    private static void AssertFallback(RouteDecision decision, string reason)
    {
        Assert.Equal(reason, decision.Reason);
        Assert.Equal(RouteOutcome.Fallback, decision.Outcome);
        Assert.Equal(("org1-internal", "9000"), (decision.Context, decision.Extension));
    }
}
