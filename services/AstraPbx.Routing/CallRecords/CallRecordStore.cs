using System.Globalization;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Resolution;
using Npgsql;
using NpgsqlTypes;

namespace AstraPbx.Routing.CallRecords;

/// <summary>Writes <c>routing_decisions</c> (the per-entry claim) and <c>call_records</c> (one row per call). Every
/// write is an upsert that gives the same row whatever order the events come in and however often: first-seen
/// times keep the earliest value, facts about the latest decision keep the one routed last, and counters are
/// taken from the session that was connected.</summary>
public sealed class CallRecordStore(NpgsqlDataSource dataSource, ILogger<CallRecordStore> logger)
{
    /// <summary>Claims the Stasis entry (call id + entry time) and records the call's entry. One round trip.</summary>
    public async Task<StasisClaim> ClaimAsync(CallEnteredStasis message, string? traceId, CancellationToken token)
    {
        var args = string.Join(',', message.StasisArgs);
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(BatchCommand(
            "INSERT INTO routing_decisions (call_id, entered_at, stasis_args) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1",
            message.CallId, message.EnteredAt, args));
        batch.BatchCommands.Add(BatchCommand(
            "SELECT stasis_args, outcome FROM routing_decisions WHERE call_id = $1 AND entered_at <> $2 ORDER BY entered_at",
            message.CallId, message.EnteredAt));
        batch.BatchCommands.Add(BatchCommand("""
            INSERT INTO call_records (call_id, asterisk_id, org_id, channel_name, caller_number, extension, stasis_args, trace_id, entered_at, answered_at, stasis_entries)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, (SELECT count(*) FROM routing_decisions WHERE call_id = $1))
            ON CONFLICT (call_id) DO UPDATE SET
                org_id = COALESCE(NULLIF(call_records.org_id, ''), EXCLUDED.org_id),
                channel_name = COALESCE(call_records.channel_name, EXCLUDED.channel_name),
                caller_number = COALESCE(call_records.caller_number, EXCLUDED.caller_number),
                -- The first entry describes the call; later entries (queue timeout, relay failure) do not replace it.
                extension = CASE WHEN call_records.entered_at IS NULL OR EXCLUDED.entered_at < call_records.entered_at THEN EXCLUDED.extension ELSE call_records.extension END,
                stasis_args = CASE WHEN call_records.entered_at IS NULL OR EXCLUDED.entered_at < call_records.entered_at THEN EXCLUDED.stasis_args ELSE call_records.stasis_args END,
                trace_id = CASE WHEN call_records.trace_id IS NULL OR EXCLUDED.entered_at < call_records.entered_at THEN COALESCE(EXCLUDED.trace_id, call_records.trace_id) ELSE call_records.trace_id END,
                entered_at = LEAST(call_records.entered_at, EXCLUDED.entered_at),
                answered_at = LEAST(call_records.answered_at, EXCLUDED.answered_at),
                stasis_entries = GREATEST(call_records.stasis_entries, EXCLUDED.stasis_entries),
                updated_at = now()
            """,
            message.CallId, message.AsteriskId, message.OrgId, message.ChannelName, message.CallerNumber, message.Extension, args,
            (object?)traceId ?? DBNull.Value, message.EnteredAt, (object?)message.AnsweredAt ?? DBNull.Value));

        await using var reader = await batch.ExecuteReaderAsync(token);
        var claimed = await reader.ReadAsync(token);
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

        return new StasisClaim(claimed, entries, queues, fallbacks);
    }

    /// <summary>Gives a claim back after the decision failed, so that the broker's redelivery can decide again.</summary>
    public async Task ReleaseClaimAsync(CallEnteredStasis message, CancellationToken token)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM routing_decisions WHERE call_id = $1 AND entered_at = $2 AND outcome IS NULL");
        command.Parameters.Add(new NpgsqlParameter { Value = message.CallId });
        command.Parameters.Add(new NpgsqlParameter { Value = message.EnteredAt });
        await command.ExecuteNonQueryAsync(token);
    }

    /// <summary>Records the decision for one Stasis entry and, when it is the latest, on the call's record.
    /// <paramref name="ready"/> is the relay's answer when an AI session was connected.</summary>
    public async Task RecordRoutedAsync(CallEnteredStasis message, RouteDecision decision, DateTimeOffset routedAt, int aiAttempts, AiSessionReady? ready, CancellationToken token)
    {
        var outcome = OutcomeName(decision.Outcome);
        var path = decision.Path.ToArray();
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(BatchCommand(
            "UPDATE routing_decisions SET outcome = $3, reason = $4, path = $5, session_id = $6 WHERE call_id = $1 AND entered_at = $2",
            message.CallId, message.EnteredAt, outcome, decision.Reason, path, (object?)ready?.SessionId ?? DBNull.Value));
        batch.BatchCommands.Add(BatchCommand("""
            INSERT INTO call_records (call_id, asterisk_id, routed_at, outcome, route_reason, route_path, destination, ai_attempts,
                                      session_id, relay_instance, relay_endpoint, ai_ready_at, gateway_connect_ms)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (call_id) DO UPDATE SET
                routed_at = GREATEST(call_records.routed_at, EXCLUDED.routed_at),
                outcome = CASE WHEN call_records.routed_at IS NULL OR EXCLUDED.routed_at >= call_records.routed_at THEN EXCLUDED.outcome ELSE call_records.outcome END,
                route_reason = CASE WHEN call_records.routed_at IS NULL OR EXCLUDED.routed_at >= call_records.routed_at THEN EXCLUDED.route_reason ELSE call_records.route_reason END,
                route_path = CASE WHEN call_records.routed_at IS NULL OR EXCLUDED.routed_at >= call_records.routed_at THEN EXCLUDED.route_path ELSE call_records.route_path END,
                destination = CASE WHEN call_records.routed_at IS NULL OR EXCLUDED.routed_at >= call_records.routed_at THEN EXCLUDED.destination ELSE call_records.destination END,
                ai_attempts = call_records.ai_attempts + EXCLUDED.ai_attempts,
                session_id = COALESCE(EXCLUDED.session_id, call_records.session_id),
                relay_instance = COALESCE(EXCLUDED.relay_instance, call_records.relay_instance),
                relay_endpoint = COALESCE(EXCLUDED.relay_endpoint, call_records.relay_endpoint),
                ai_ready_at = COALESCE(EXCLUDED.ai_ready_at, call_records.ai_ready_at),
                gateway_connect_ms = COALESCE(EXCLUDED.gateway_connect_ms, call_records.gateway_connect_ms),
                updated_at = now()
            """,
            message.CallId, message.AsteriskId, routedAt, outcome, decision.Reason, path, decision.Destination, aiAttempts,
            (object?)ready?.SessionId ?? DBNull.Value, (object?)ready?.RelayInstance ?? DBNull.Value, (object?)ready?.RelayEndpoint ?? DBNull.Value,
            ready is null ? DBNull.Value : routedAt, (object?)ready?.GatewayConnectMs ?? DBNull.Value));
        await batch.ExecuteNonQueryAsync(token);
    }

    /// <summary>Records a relay's end-of-session counters. Only the session the call was connected to (or, before the
    /// routing decision is recorded, the first one seen) writes them.</summary>
    public async Task RecordAiSessionEndedAsync(AiSessionEnded message, CancellationToken token)
    {
        await using var command = Command("""
            INSERT INTO call_records (call_id, asterisk_id, session_id, ai_ended_at, ai_ended_by, ai_end_reason, ai_duration_ms,
                                      frames_to_gateway, frames_to_caller, bytes_to_gateway, bytes_to_caller, underruns, late_ticks, max_lateness_ms, relay_instance)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
            ON CONFLICT (call_id) DO UPDATE SET
                session_id = COALESCE(call_records.session_id, EXCLUDED.session_id),
                ai_ended_at = EXCLUDED.ai_ended_at, ai_ended_by = EXCLUDED.ai_ended_by, ai_end_reason = EXCLUDED.ai_end_reason,
                ai_duration_ms = EXCLUDED.ai_duration_ms, frames_to_gateway = EXCLUDED.frames_to_gateway, frames_to_caller = EXCLUDED.frames_to_caller,
                bytes_to_gateway = EXCLUDED.bytes_to_gateway, bytes_to_caller = EXCLUDED.bytes_to_caller, underruns = EXCLUDED.underruns,
                late_ticks = EXCLUDED.late_ticks, max_lateness_ms = EXCLUDED.max_lateness_ms,
                relay_instance = COALESCE(call_records.relay_instance, EXCLUDED.relay_instance),
                updated_at = now()
            WHERE call_records.session_id IS NULL OR call_records.session_id = EXCLUDED.session_id
            """,
            message.CallId, message.AsteriskId, message.SessionId, message.EndedAt, EndedByName(message.EndedBy), message.Reason,
            message.Duration.TotalMilliseconds, message.FramesToGateway, message.FramesToCaller, message.BytesToGateway, message.BytesToCaller,
            message.Underruns, message.LateTicks, message.MaxLatenessMs, message.RelayInstance);
        await UpdateAsync(command, message.CallId, nameof(AiSessionEnded), token);
    }

    /// <summary>Records the real hangup. A duplicate keeps the first hangup seen.</summary>
    public async Task RecordCallEndedAsync(CallEnded message, CancellationToken token)
    {
        await using var command = Command("""
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

    private NpgsqlCommand Command(string sql, params object[] values)
    {
        var command = dataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(Parameter(value));
        }

        return command;
    }

    private static NpgsqlBatchCommand BatchCommand(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(Parameter(value ?? DBNull.Value));
        }

        return command;
    }

    private static NpgsqlParameter Parameter(object value) => value switch
    {
        // timestamptz needs UTC; the messages carry offsets.
        DateTimeOffset t => new NpgsqlParameter { Value = t.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz },
        string[] a => new NpgsqlParameter { Value = a, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
        _ => new NpgsqlParameter { Value = value },
    };
}
