using System.Globalization;
using AstraPbx.Contracts.Calls;
using Npgsql;

namespace AstraPbx.Routing.CallRecords;

/// <summary>The per-entry claims on <c>routing_decisions</c>: claim with a lease, release, and the decision written
/// only while the claim is held. Lease times are the database's (<c>now()</c>), so instances on hosts whose clocks
/// differ agree on when a lease ran out.</summary>
public sealed class StasisClaimStore(NpgsqlDataSource dataSource)
{
    /// <summary>Claims the Stasis entry (call id + entry time) for <paramref name="instance"/> until
    /// <paramref name="lease"/> from now, and records the call's entry. Takes over an undecided entry whose lease ran
    /// out. One round trip. <paramref name="instance"/> null with a zero lease records the entry without claiming it.</summary>
    public async Task<StasisClaim> ClaimAsync(CallEnteredStasis message, string? traceId, string? instance, TimeSpan lease, CancellationToken token)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(SqlCommands.Batch("""
            INSERT INTO routing_decisions (call_id, entered_at, stasis_args, claimed_by, lease_until) VALUES ($1, $2, $3, $4, now() + $5)
            ON CONFLICT (call_id, entered_at) DO UPDATE SET claimed_by = EXCLUDED.claimed_by, lease_until = EXCLUDED.lease_until, claimed_at = now()
            WHERE routing_decisions.outcome IS NULL AND COALESCE(routing_decisions.lease_until, routing_decisions.claimed_at + $5) <= now()
            RETURNING 1
            """,
            message.CallId, message.EnteredAt, CallRecordSql.StasisArgs(message), instance, lease));
        batch.BatchCommands.Add(SqlCommands.Batch("""
            SELECT outcome, claimed_by, GREATEST(COALESCE(lease_until, claimed_at + $3) - now(), interval '0')
            FROM routing_decisions WHERE call_id = $1 AND entered_at = $2
            """,
            message.CallId, message.EnteredAt, lease));
        batch.BatchCommands.Add(SqlCommands.Batch(
            "SELECT stasis_args, outcome FROM routing_decisions WHERE call_id = $1 AND entered_at <> $2 ORDER BY entered_at",
            message.CallId, message.EnteredAt));
        batch.BatchCommands.Add(CallRecordSql.EntryRecord(message, traceId));

        await using var reader = await batch.ExecuteReaderAsync(token);
        var claimed = instance is not null && await reader.ReadAsync(token);
        await reader.NextResultAsync(token);
        await reader.ReadAsync(token);
        var decided = !reader.IsDBNull(0);
        var heldBy = reader.IsDBNull(1) ? null : reader.GetString(1);
        var leaseLeft = reader.GetFieldValue<TimeSpan>(2);
        await reader.NextResultAsync(token);
        var queues = new List<int>();
        var entries = 1;
        var fallbacks = 0;
        while (await reader.ReadAsync(token))
        {
            entries++;
            if (!reader.IsDBNull(1) && reader.GetString(1) == "fallback")
            {
                fallbacks++;
            }

            var previous = reader.GetString(0).Split(',');
            if (previous.Length == 2 && previous[0] == "queue_timeout" && int.TryParse(previous[1], NumberStyles.None, CultureInfo.InvariantCulture, out var queueId))
            {
                queues.Add(queueId);
            }
        }

        return new StasisClaim(claimed, entries, queues, fallbacks) { Decided = decided, HeldBy = heldBy, LeaseLeft = leaseLeft };
    }

    /// <summary>Gives an undecided claim back (the decision failed or the service is stopping): its lease ends now,
    /// so the broker's redelivery, on any instance, can decide the entry at once.</summary>
    public async Task ReleaseAsync(CallEnteredStasis message, string instance, CancellationToken token)
    {
        await using var command = SqlCommands.Command(dataSource,
            "UPDATE routing_decisions SET lease_until = now() WHERE call_id = $1 AND entered_at = $2 AND claimed_by = $3 AND outcome IS NULL",
            message.CallId, message.EnteredAt, instance);
        await command.ExecuteNonQueryAsync(token);
    }

    /// <summary>Writes Routing's decision on the entry and the call record, in one statement, only while
    /// <paramref name="instance"/> still holds the claim and the entry has no outcome. False when the claim was lost
    /// (taken over after the lease ran out, or the ingress's edge fallback decided first): then nothing is sent.</summary>
    public async Task<bool> DecideAsync(CallEnteredStasis message, RecordedDecision decision, string instance, CancellationToken token)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(CallRecordSql.Decision(message, decision, instance));
        return (int)(await batch.ExecuteScalarAsync(token))! == 1;
    }
}
