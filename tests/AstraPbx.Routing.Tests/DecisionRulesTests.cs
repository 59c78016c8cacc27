using System.Net.Sockets;
using AstraPbx.Routing.Data;
using AstraPbx.Routing.Orchestration;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>The plain rules behind a decision under faults: the time budget before <c>DecideBy</c>, which database
/// errors count as "unavailable", and the in-memory guard against circling through the fallback without the
/// database.</summary>
public sealed class DecisionRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Without_DecideBy_each_step_gets_its_configured_timeout()
    {
        var budget = new DecisionBudget(null, new RoutingOptions(), new FakeTimeProvider(T0));

        Assert.Equal(TimeSpan.FromMilliseconds(1200), budget.NextAttempt());
        Assert.Equal(TimeSpan.FromSeconds(1), budget.NextDatabaseCall());
        Assert.True(budget.AllowsRetry(DatabaseGuard.RetryDelay));
        Assert.False(budget.Expired);
    }

    [Fact]
    public void Relay_attempts_are_cut_to_DecideBy_less_the_margin_and_not_started_below_200_ms()
    {
        var time = new FakeTimeProvider(T0);
        var budget = new DecisionBudget(T0.AddMilliseconds(2500), new RoutingOptions(), time);

        Assert.Equal(TimeSpan.FromMilliseconds(1200), budget.NextAttempt());
        time.Advance(TimeSpan.FromMilliseconds(1250));
        Assert.Equal(TimeSpan.FromMilliseconds(950), budget.NextAttempt());
        time.Advance(TimeSpan.FromMilliseconds(800));
        Assert.Null(budget.NextAttempt());
        Assert.False(budget.Expired);
        time.Advance(TimeSpan.FromMilliseconds(450));
        Assert.True(budget.Expired);
    }

    [Fact]
    public void Database_calls_are_cut_to_DecideBy_but_keep_a_floor_and_the_retry_needs_room()
    {
        var time = new FakeTimeProvider(T0);
        var budget = new DecisionBudget(T0.AddMilliseconds(2500), new RoutingOptions(), time);

        Assert.Equal(TimeSpan.FromSeconds(1), budget.NextDatabaseCall());
        time.Advance(TimeSpan.FromMilliseconds(2100));
        Assert.Equal(TimeSpan.FromMilliseconds(400), budget.NextDatabaseCall());
        Assert.True(budget.AllowsRetry(DatabaseGuard.RetryDelay));
        time.Advance(TimeSpan.FromMilliseconds(350));
        Assert.Equal(DecisionBudget.MinimumDatabaseCall, budget.NextDatabaseCall());
        Assert.False(budget.AllowsRetry(DatabaseGuard.RetryDelay));
    }

    public static TheoryData<Exception, bool> Failures() => new()
    {
        { new NpgsqlException("Failed to connect to 127.0.0.1:1", new SocketException((int)SocketError.ConnectionRefused)), true },
        { new NpgsqlException("Exception while reading from stream", new EndOfStreamException()), true },
        { new NpgsqlException("Exception while reading from stream", new TimeoutException()), true },
        { new TimeoutException(), true },
        { new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", "57P01"), true },
        { new PostgresException("the database system is starting up", "FATAL", "FATAL", "57P03"), true },
        { new PostgresException("sorry, too many clients already", "FATAL", "FATAL", "53300"), true },
        { new PostgresException("connection failure", "FATAL", "FATAL", "08006"), true },
        { new PostgresException("deadlock detected", "ERROR", "ERROR", "40P01"), true },
        { new PostgresException("duplicate key value violates unique constraint", "ERROR", "ERROR", "23505"), false },
        { new PostgresException("column \"x\" does not exist", "ERROR", "ERROR", "42703"), false },
        { new InvalidOperationException("a bug"), false },
        { new OperationCanceledException(), false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Only_unreachable_or_briefly_unable_databases_count_as_transient(Exception failure, bool transient) =>
        Assert.Equal(transient, DatabaseFailures.IsTransient(failure));

    [Fact]
    public void The_databaseless_fallback_guard_forgets_a_call_after_an_hour()
    {
        var time = new FakeTimeProvider(T0);
        var sent = new DatabaselessFallbacks(time);

        sent.Add("call-1");
        time.Advance(TimeSpan.FromMinutes(59));
        Assert.True(sent.Contains("call-1"));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(sent.Contains("call-1"));
    }

    [Fact]
    public void The_databaseless_fallback_guard_is_bounded_and_forgets_the_oldest_first()
    {
        var sent = new DatabaselessFallbacks(new FakeTimeProvider(T0));

        for (var i = 0; i <= DatabaselessFallbacks.Capacity; i++)
        {
            sent.Add("call-" + i);
        }

        Assert.Equal(DatabaselessFallbacks.Capacity, sent.Count);
        Assert.False(sent.Contains("call-0"));
        Assert.True(sent.Contains("call-1"));
        Assert.True(sent.Contains("call-" + DatabaselessFallbacks.Capacity));
    }
}
