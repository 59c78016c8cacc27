using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Data;
using AstraPbx.Routing.Resolution;
using AstraPbx.Testing;
using Npgsql;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>Wideband AI routes (<c>users.ai_sample_rate</c>) and the decision for a call back from the 16 kHz
/// <c>Dial(AudioSocket/...)</c> leg (<c>ai_ended,&lt;session&gt;</c>), against a real PostgreSQL.</summary>
public sealed class WidebandRouteTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static readonly int[] NoHistory = [];

    [Fact]
    public async Task A_16_kHz_agent_resolves_with_its_rate_and_an_8_kHz_one_keeps_8000()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);

        var wide = await db.Resolver().ResolveAsync(["ai_agent", Seeder.WidebandAiBotUserId.ToString(System.Globalization.CultureInfo.InvariantCulture)], NoHistory, default);
        var narrow = await db.Resolver().ResolveAsync(["ai_agent", "3"], NoHistory, default);

        Assert.Equal((RouteOutcome.AiAgent, MediaMode.AstraPbxBinary, 16000), (wide.Outcome, wide.MediaMode, wide.CallerSampleRate));
        Assert.Equal((RouteOutcome.AiAgent, 8000), (narrow.Outcome, narrow.CallerSampleRate));
    }

    [Theory]
    [InlineData("UPDATE users SET ai_sample_rate = 11025 WHERE id = 4", "users_ai_sample_rate_check")]
    [InlineData("UPDATE users SET ai_media_mode = 'twilio' WHERE id = 4", "users_wideband_needs_binary_check")]
    public async Task The_schema_refuses_a_rate_the_relay_cannot_carry_and_wideband_twilio(string sql, string constraint)
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);

        var error = await Assert.ThrowsAsync<PostgresException>(() => db.ExecuteAsync(sql));

        Assert.Equal(constraint, error.ConstraintName);
    }

    [Theory]
    [InlineData("gateway", "gateway-stop", RouteOutcome.Hangup, "bot-ended:gateway-stop")]
    [InlineData("gateway", "gateway-closed", RouteOutcome.Hangup, "bot-ended:gateway-closed")]
    [InlineData("gateway", "gateway-failed", RouteOutcome.Fallback, "ai-session-failed:gateway-failed")]
    [InlineData("gateway", "gateway-keepalive-timeout", RouteOutcome.Fallback, "ai-session-failed:gateway-keepalive-timeout")]
    [InlineData("relay", "relay-error", RouteOutcome.Fallback, "ai-session-failed:relay-error")]
    [InlineData("caller", "caller-reset", RouteOutcome.Fallback, "ai-session-failed:caller-reset")]
    public async Task A_call_back_from_a_wideband_leg_hangs_up_only_when_the_bot_ended_it(string endedBy, string reason, RouteOutcome outcome, string why)
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var session = Guid.NewGuid();
        await db.ExecuteAsync("INSERT INTO ai_session_endings (session_id, call_id, ended_by, reason, ended_at) VALUES ($1, 'c1', $2, $3, now())", session, endedBy, reason);

        var decision = await db.Resolver().ResolveAsync(["ai_ended", session.ToString()], NoHistory, default);

        Assert.Equal((outcome, why), (decision.Outcome, decision.Reason));
        Assert.Equal(["ai_ended:" + session, "ended:" + reason], decision.Path);
        if (outcome == RouteOutcome.Fallback)
        {
            Assert.Equal(("org1-internal", "9000"), (decision.Context, decision.Extension));
        }
    }

    [Fact]
    public async Task An_ending_recorded_while_the_call_waits_is_used()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var session = Guid.NewGuid();
        var options = RoutingDatabase.WithFallback();
        options.AiSessionEndWait = TimeSpan.FromSeconds(2);

        var deciding = db.Resolver(options).ResolveAsync(["ai_ended", session.ToString()], NoHistory, default);
        await db.ExecuteAsync("INSERT INTO ai_session_endings (session_id, call_id, ended_by, reason, ended_at) VALUES ($1, 'c1', 'gateway', 'gateway-stop', now())", session);
        var decision = await deciding;

        Assert.Equal((RouteOutcome.Hangup, "bot-ended:gateway-stop"), (decision.Outcome, decision.Reason));
    }

    [Fact]
    public async Task With_no_ending_recorded_in_time_the_call_takes_the_fallback()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var options = RoutingDatabase.WithFallback();
        options.AiSessionEndWait = TimeSpan.FromMilliseconds(200);

        var decision = await db.Resolver(options).ResolveAsync(["ai_ended", Guid.NewGuid().ToString()], NoHistory, default);

        Assert.Equal((RouteOutcome.Fallback, Reasons.AiSessionEndUnknown), (decision.Outcome, decision.Reason));
    }

    [Theory]
    [InlineData("not-a-uuid")]
    [InlineData("")]
    public async Task A_malformed_ai_ended_argument_takes_the_fallback(string argument)
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);

        var decision = await db.Resolver().ResolveAsync(["ai_ended", argument], NoHistory, default);

        Assert.Equal((RouteOutcome.Fallback, Reasons.BadStasisArgument), (decision.Outcome, decision.Reason));
    }
}
