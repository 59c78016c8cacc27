using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using Npgsql;

namespace AstraPbx.Routing.CallRecords;

/// <summary>Writes <c>call_records</c> (one row per call) from the events that complete it, and records decisions
/// made without the database (<see cref="FallbackTaken"/>). The per-entry claims are <see cref="StasisClaimStore"/>'s.
/// Every write is an upsert that gives the same row whatever order the events come in and however often: first-seen
/// times keep the earliest value, the decision is the latest entry's (the ingress's within one entry), and counters are
/// taken from the session that was connected.</summary>
public sealed class CallRecordStore(NpgsqlDataSource dataSource, ILogger<CallRecordStore> logger)
{
    /// <summary>Records a decision the database did not see when it was made (the ingress's edge fallback, or
    /// Routing's while its database was down): the Stasis entry as a claim would, then the decision. The ingress's
    /// decision replaces Routing's for the same entry; Routing's fills only an entry with no outcome. Returns whether
    /// the entry took the decision.</summary>
    public async Task<bool> RecordFallbackTakenAsync(FallbackTaken message, string? traceId, CancellationToken token)
    {
        var entry = message.Entry;
        var decision = new RecordedDecision(message.Outcome, message.Reason, [PathOf(message)], message.Destination, message.DecidedBy, message.TakenAt);
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(SqlCommands.Batch(
            "INSERT INTO routing_decisions (call_id, entered_at, stasis_args) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            entry.CallId, entry.EnteredAt, CallRecordSql.StasisArgs(entry)));
        batch.BatchCommands.Add(CallRecordSql.EntryRecord(entry, traceId));
        batch.BatchCommands.Add(CallRecordSql.Decision(entry, decision, claimedBy: null));
        await using var reader = await batch.ExecuteReaderAsync(token);
        var taken = false;
        do
        {
            // Only the decision statement returns a row: how many entries took it.
            if (reader.FieldCount > 0 && await reader.ReadAsync(token))
            {
                taken = reader.GetInt32(0) == 1;
            }
        }
        while (await reader.NextResultAsync(token));

        return taken;
    }

    /// <summary>The path recorded for a decision made without the resolver: who took which fallback.</summary>
    private static string PathOf(FallbackTaken message) =>
        message.DecidedBy == FallbackTaken.DecidedByIngress ? "edge-fallback" : "databaseless-fallback";

    /// <summary>Records a relay's end-of-session counters. Only the session the call was connected to (or, before the
    /// routing decision is recorded, the first one seen) writes them.</summary>
    public async Task RecordAiSessionEndedAsync(AiSessionEnded message, CancellationToken token)
    {
        // The ending is also kept per session (ai_session_endings), for a call that re-enters Stasis as ai_ended.
        await using var command = SqlCommands.Command(dataSource, """
            WITH ending AS (
                INSERT INTO ai_session_endings (session_id, call_id, ended_by, reason, ended_at) VALUES ($3, $1, $5, $6, $4)
                ON CONFLICT (session_id) DO NOTHING)
            INSERT INTO call_records (call_id, asterisk_id, session_id, ai_ended_at, ai_ended_by, ai_end_reason, ai_duration_ms,
                                      frames_to_gateway, frames_to_caller, bytes_to_gateway, bytes_to_caller, underruns, late_ticks, max_lateness_ms, relay_instance,
                                      frames_trimmed, frames_trimmed_for_skipped_ticks)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
            ON CONFLICT (call_id) DO UPDATE SET
                session_id = COALESCE(call_records.session_id, EXCLUDED.session_id),
                ai_ended_at = EXCLUDED.ai_ended_at, ai_ended_by = EXCLUDED.ai_ended_by, ai_end_reason = EXCLUDED.ai_end_reason,
                ai_duration_ms = EXCLUDED.ai_duration_ms, frames_to_gateway = EXCLUDED.frames_to_gateway, frames_to_caller = EXCLUDED.frames_to_caller,
                bytes_to_gateway = EXCLUDED.bytes_to_gateway, bytes_to_caller = EXCLUDED.bytes_to_caller, underruns = EXCLUDED.underruns,
                late_ticks = EXCLUDED.late_ticks, max_lateness_ms = EXCLUDED.max_lateness_ms,
                frames_trimmed = EXCLUDED.frames_trimmed, frames_trimmed_for_skipped_ticks = EXCLUDED.frames_trimmed_for_skipped_ticks,
                relay_instance = COALESCE(call_records.relay_instance, EXCLUDED.relay_instance),
                updated_at = now()
            WHERE call_records.session_id IS NULL OR call_records.session_id = EXCLUDED.session_id
            """,
            message.CallId, message.AsteriskId, message.SessionId, message.EndedAt, EndedByName(message.EndedBy), message.Reason,
            message.Duration.TotalMilliseconds, message.FramesToGateway, message.FramesToCaller, message.BytesToGateway, message.BytesToCaller,
            message.Underruns, message.LateTicks, message.MaxLatenessMs, message.RelayInstance, message.FramesTrimmed, message.FramesTrimmedForSkippedTicks);
        await UpdateAsync(command, message.CallId, nameof(AiSessionEnded), token);
    }

    /// <summary>Records the real hangup. A duplicate keeps the first hangup seen.</summary>
    public async Task RecordCallEndedAsync(CallEnded message, CancellationToken token)
    {
        await using var command = SqlCommands.Command(dataSource, """
            INSERT INTO call_records (call_id, asterisk_id, ended_at, hangup_cause, hangup_cause_text) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (call_id) DO UPDATE SET
                hangup_cause = CASE WHEN call_records.ended_at IS NULL OR EXCLUDED.ended_at < call_records.ended_at THEN EXCLUDED.hangup_cause ELSE call_records.hangup_cause END,
                hangup_cause_text = CASE WHEN call_records.ended_at IS NULL OR EXCLUDED.ended_at < call_records.ended_at THEN EXCLUDED.hangup_cause_text ELSE call_records.hangup_cause_text END,
                ended_at = LEAST(call_records.ended_at, EXCLUDED.ended_at),
                updated_at = now()
            """,
            message.CallId, message.AsteriskId, message.EndedAt, message.Cause, message.CauseText);
        await UpdateAsync(command, message.CallId, nameof(CallEnded), token);
    }

    /// <summary>The text stored for an outcome (<c>call_records.outcome</c>).</summary>
    public static string OutcomeName(RouteOutcome outcome) => outcome switch
    {
        RouteOutcome.AiAgent => "ai_agent",
        RouteOutcome.Dialplan => "dialplan",
        RouteOutcome.Fallback => "fallback",
        _ => "hangup",
    };

    private static string EndedByName(SessionEndedBy endedBy) => endedBy switch
    {
        SessionEndedBy.Caller => "caller",
        SessionEndedBy.Gateway => "gateway",
        SessionEndedBy.Relay => "relay",
        _ => "not_claimed",
    };

    /// <summary>Writes what <paramref name="event"/> says about the call.</summary>
    private async Task UpdateAsync(NpgsqlCommand command, string callId, string @event, CancellationToken token)
    {
        await command.ExecuteNonQueryAsync(token);
        RoutingLog.RecordUpdated(logger, callId, @event);
    }
}
