using System.Transactions;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.CallRecords;
using AstraPbx.Routing.Hosting;
using AstraPbx.Routing.Orchestration;
using AstraPbx.Routing.Resolution;
using AstraPbx.ServiceDefaults.Warmup;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AstraPbx.Routing.Warmup;

/// <summary>A call's path through Routing, without a call: opens <c>Routing:WarmConnections</c> pooled connections,
/// resolves Stasis arguments that name no user and no queue, then the first queue's timeout and the first user, as a
/// real entry's would be (read-only: their rows are read through the same code), runs the entry's claim and decision
/// (each through the <see cref="DatabaseGuard"/> as <see cref="CallRouter"/> calls them), then the call record's writes
/// of its end (the relay's <c>AiSessionEnded</c>, the hangup's <c>CallEnded</c>, through the store as the consumers
/// call it), all inside a transaction that is rolled back, and the JSON of every contract Routing sends or receives. Waits for the schema
/// (<see cref="MigrationService"/>) first. Nothing is published, nothing stays in the database, no span is exported (<see cref="WarmupTracing"/>).</summary>
internal sealed class RoutingPathWarmup(
    NpgsqlDataSource dataSource,
    SchemaState schema,
    RouteResolver resolver,
    StasisClaimStore claims,
    CallRecordStore records,
    DatabaseGuard database,
    IOptionsMonitor<RoutingOptions> options,
    TimeProvider time) : IRepeatableWarmupStep
{
    private static readonly TimeSpan SchemaPoll = TimeSpan.FromMilliseconds(100);

    public string Name => "routing-path";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var traced = WarmupTracing.Begin(Name);
        using (var poll = new PeriodicTimer(SchemaPoll))
        {
            // MigrationService marks the schema ready; it retries on its own while the database is away.
            while (!schema.Ready)
            {
                await poll.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await FillPoolAsync(cancellationToken).ConfigureAwait(false);
        await PassAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task RepeatAsync(int passes, CancellationToken cancellationToken) => WarmupPasses.RunAsync(passes, PassAsync, cancellationToken);

    /// <summary>The resolves, the rolled-back claim and decision, the contracts' JSON.</summary>
    private async Task PassAsync(CancellationToken cancellationToken)
    {
        // Traced like a call (Npgsql's spans, the guard's), never exported.
        using var traced = WarmupTracing.Begin(Name);
        var budget = new DecisionBudget(time.GetUtcNow().AddSeconds(3), options.CurrentValue, time);
        Task<RouteDecision> Resolve(params string[] args) =>
            database.RunAsync("warmup", "resolve", budget, t => resolver.ResolveAsync(args, [], t), cancellationToken, resolver.PlannedWait(args));

        // int.MaxValue is no user and no queue: each resolve runs its query and falls back.
        var user = await Resolve("ai_agent", int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        await Resolve("queue_timeout", int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        await Resolve("ai_failed", Guid.Empty.ToString()).ConfigureAwait(false);

        // A real entry reads rows: the converters of each column are built on the first row read (measured: the first
        // call's resolve was the slowest step in Routing). Read-only, and skipped on an empty database.
        var (queueId, userId) = await FirstQueueAndUserAsync(cancellationToken).ConfigureAwait(false);
        if (queueId is { } queue)
        {
            await Resolve("queue_timeout", queue.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        }

        if (userId is { } someone)
        {
            await Resolve("ai_agent", someone.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        }

        var now = DateTimeOffset.UtcNow;
        var entry = new CallEnteredStasis
        {
            CallId = "warmup-" + Guid.NewGuid().ToString("N"),
            AsteriskId = "warmup",
            StasisArgs = ["ai_agent", int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            EnteredAt = now,
            AnsweredAt = now,
            DecideBy = now.AddSeconds(3),
        };

        // The claim writes; an ambient transaction that is never completed rolls it back (Npgsql enlists the pooled
        // connection the batch opens).
        using (var rolledBack = new TransactionScope(TransactionScopeOption.RequiresNew, TransactionScopeAsyncFlowOption.Enabled))
        {
            var claim = await database.RunAsync(entry.CallId, "claim", budget,
                t => claims.ClaimAsync(entry, null, "warmup", TimeSpan.FromSeconds(1), t), cancellationToken).ConfigureAwait(false);
            if (!claim.Claimed)
            {
                throw new InvalidOperationException("warm-up claim on a new call id was not claimed");
            }

            // The decision of an AI route (with its session), written under the claim: the statement after the relay's reply.
            var session = new AiSessionReady { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = Guid.NewGuid(), RelayEndpoint = "127.0.0.1:9092" };
            var decision = new RecordedDecision(RouteOutcome.AiAgent, user.Reason, user.Path, "ws://127.0.0.1/warmup", "routing", now) { AiAttempts = 1, Session = session };
            if (!await database.RunAsync(entry.CallId, "decision", budget, t => claims.DecideAsync(entry, decision, "warmup", t), cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("warm-up decision was not written under its claim");
            }

            // The call's end, as the consumers record it (measured: without this, the store's writes and Npgsql's
            // ExecuteNonQuery machinery were compiled during bench-setup's first calls, on the cores their setup needs).
            await records.RecordAiSessionEndedAsync(new AiSessionEnded
            {
                CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = session.SessionId, EndedAt = now, EndedBy = SessionEndedBy.Caller,
                Reason = "warmup", RelayInstance = "warmup",
            }, cancellationToken).ConfigureAwait(false);
            await records.RecordCallEndedAsync(new CallEnded { CallId = entry.CallId, AsteriskId = entry.AsteriskId, EndedAt = now }, cancellationToken).ConfigureAwait(false);
            if (!await EndRecordedAsync(entry.CallId, cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException("warm-up call end was not written to its call record");
            }
        }

        ContractWarmup.RoundTrip(entry);
        ContractWarmup.RoundTrip(new CallRouted { CallId = entry.CallId, AsteriskId = entry.AsteriskId, Outcome = RouteOutcome.Fallback, Reason = user.Reason });
        ContractWarmup.RoundTrip(new StartAiSession { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = Guid.Empty, GatewayUrl = "ws://127.0.0.1/warmup" });
        ContractWarmup.RoundTrip(new AiSessionReady { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = Guid.Empty, RelayEndpoint = "127.0.0.1:9092" });
        ContractWarmup.RoundTrip(new AiSessionFailed { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = Guid.Empty, Reason = default });
        ContractWarmup.RoundTrip(new AiSessionEnded { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = Guid.Empty, EndedBy = default });
        ContractWarmup.RoundTrip(new ConnectToRelay { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = Guid.Empty, RelayEndpoint = "127.0.0.1:9092" });
        ContractWarmup.RoundTrip(new ContinueInDialplan { CallId = entry.CallId, AsteriskId = entry.AsteriskId, Context = "default", Extension = "s" });
        ContractWarmup.RoundTrip(new HangupCall { CallId = entry.CallId, AsteriskId = entry.AsteriskId });
        ContractWarmup.RoundTrip(new CallEnded { CallId = entry.CallId, AsteriskId = entry.AsteriskId, EndedAt = now });
        ContractWarmup.RoundTrip(new FallbackTaken { Entry = entry, DecidedBy = "warm-up", Outcome = RouteOutcome.Fallback });
        ContractWarmup.RoundTrip(new RelayCapacity { RelayInstance = "warmup" });
    }

    /// <summary>Whether the call record has both ends written (inside the warm-up's transaction, which the ambient scope
    /// enlists this command in).</summary>
    private async Task<bool> EndRecordedAsync(string callId, CancellationToken cancellationToken)
    {
        await using var command = SqlCommands.Command(dataSource,
            "SELECT count(*) FROM call_records WHERE call_id = $1 AND ended_at IS NOT NULL AND ai_ended_at IS NOT NULL", callId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0L) == 1;
    }

    /// <summary>The lowest queue id and user id, or null where there is none.</summary>
    private async Task<(int? Queue, int? User)> FirstQueueAndUserAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT (SELECT min(id) FROM queues), (SELECT min(id) FROM users)");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return (null, null);
        }

        return (reader.IsDBNull(0) ? null : reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetInt32(1));
    }

    /// <summary>Opens <c>Routing:WarmConnections</c> connections (at least two: a decision claims and resolves at once,
    /// on two; at least the pool's minimum) at once and gives them back: the first burst of calls then finds open,
    /// authenticated connections instead of opening one per call.</summary>
    private async Task FillPoolAsync(CancellationToken cancellationToken)
    {
        var count = Math.Max(Math.Max(2, options.CurrentValue.WarmConnections), new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MinPoolSize);
        var connections = new List<NpgsqlConnection>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                connections.Add(await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false));
            }

            foreach (var connection in connections)
            {
                await using var ping = new NpgsqlCommand("SELECT 1", connection);
                await ping.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
