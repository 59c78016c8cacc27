using AstraPbx.Contracts.Calls;
using Npgsql;

namespace AstraPbx.Routing.CallRecords;

/// <summary>The statements both record stores write: a Stasis entry on the call record, and a decision on
/// <c>routing_decisions</c> and <c>call_records</c> in one statement.</summary>
internal static class CallRecordSql
{
    /// <summary>Records the call's entry into Stasis on <c>call_records</c>; <c>stasis_entries</c> counts the rows of
    /// <c>routing_decisions</c>, so the entry's row is written first in the same batch.</summary>
    public static NpgsqlBatchCommand EntryRecord(CallEnteredStasis message, string? traceId) => SqlCommands.Batch("""
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
        message.CallId, message.AsteriskId, message.OrgId, message.ChannelName, message.CallerNumber, message.Extension, StasisArgs(message),
        traceId, message.EnteredAt, message.AnsweredAt);

    /// <summary>Writes <paramref name="decision"/> on the entry's <c>routing_decisions</c> row and, when that row took
    /// it, on the call record; returns one row with the count of entries decided (0 or 1). One statement, so both
    /// tables change together or not at all. Which decisions the entry takes:
    /// <list type="bullet">
    /// <item>the ingress's always: its edge fallback is what happened to the channel (it ignored any later command);</item>
    /// <item>Routing's only while the entry has no outcome, and, when <paramref name="claimedBy"/> is given, only while
    /// that instance still holds the claim.</item>
    /// </list>
    /// The call record takes the decision of its latest entry; within one entry the ingress's wins.</summary>
    public static NpgsqlBatchCommand Decision(CallEnteredStasis message, RecordedDecision decision, string? claimedBy)
    {
        const string takes = """
            (call_records.decision_entered_at IS NULL OR EXCLUDED.decision_entered_at > call_records.decision_entered_at
             OR (EXCLUDED.decision_entered_at = call_records.decision_entered_at AND EXCLUDED.decided_by = 'ingress'))
            """;
        var session = decision.Session;
        return SqlCommands.Batch($"""
            WITH decided AS (
                UPDATE routing_decisions SET outcome = $3, reason = $4, path = $5, session_id = $6::uuid, decided_by = $7::text, lease_until = NULL
                WHERE call_id = $1 AND entered_at = $2
                  AND ($7::text = 'ingress' OR (outcome IS NULL AND ($8::text IS NULL OR claimed_by = $8::text)))
                RETURNING entered_at),
            recorded AS (
                INSERT INTO call_records (call_id, asterisk_id, routed_at, outcome, route_reason, route_path, destination, ai_attempts,
                                          session_id, relay_instance, relay_endpoint, ai_ready_at, gateway_connect_ms, decided_by, decision_entered_at)
                SELECT $1, $9, $10, $3, $4, $5, $11, $12, $6::uuid, $13::text, $14::text, $15::timestamptz, $16::double precision, $7::text, entered_at FROM decided
                ON CONFLICT (call_id) DO UPDATE SET
                    routed_at = CASE WHEN {takes} THEN EXCLUDED.routed_at ELSE call_records.routed_at END,
                    outcome = CASE WHEN {takes} THEN EXCLUDED.outcome ELSE call_records.outcome END,
                    route_reason = CASE WHEN {takes} THEN EXCLUDED.route_reason ELSE call_records.route_reason END,
                    route_path = CASE WHEN {takes} THEN EXCLUDED.route_path ELSE call_records.route_path END,
                    destination = CASE WHEN {takes} THEN EXCLUDED.destination ELSE call_records.destination END,
                    decided_by = CASE WHEN {takes} THEN EXCLUDED.decided_by ELSE call_records.decided_by END,
                    decision_entered_at = CASE WHEN {takes} THEN EXCLUDED.decision_entered_at ELSE call_records.decision_entered_at END,
                    ai_attempts = call_records.ai_attempts + EXCLUDED.ai_attempts,
                    session_id = COALESCE(EXCLUDED.session_id, call_records.session_id),
                    relay_instance = COALESCE(EXCLUDED.relay_instance, call_records.relay_instance),
                    relay_endpoint = COALESCE(EXCLUDED.relay_endpoint, call_records.relay_endpoint),
                    ai_ready_at = COALESCE(EXCLUDED.ai_ready_at, call_records.ai_ready_at),
                    gateway_connect_ms = COALESCE(EXCLUDED.gateway_connect_ms, call_records.gateway_connect_ms),
                    updated_at = now())
            SELECT count(*)::int FROM decided
            """,
            message.CallId, message.EnteredAt, CallRecordStore.OutcomeName(decision.Outcome), decision.Reason, decision.Path.ToArray(), session?.SessionId,
            decision.DecidedBy, claimedBy, message.AsteriskId, decision.DecidedAt, decision.Destination, decision.AiAttempts,
            session?.RelayInstance, session?.RelayEndpoint, session is null ? null : decision.DecidedAt, session?.GatewayConnectMs);
    }

    public static string StasisArgs(CallEnteredStasis message) => string.Join(',', message.StasisArgs);
}
