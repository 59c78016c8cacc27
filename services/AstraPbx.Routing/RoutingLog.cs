using AstraPbx.Contracts.Calls;

namespace AstraPbx.Routing;

/// <summary>Every log line of the Routing service. Call logs carry the call id; none carries a gateway key.</summary>
internal static partial class RoutingLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Call {CallId} routed: {Outcome} ({Reason}) via {Path} to {Destination} in {DecisionMs:0.0} ms")]
    public static partial void Routed(ILogger logger, string callId, RouteOutcome outcome, string reason, string path, string destination, double decisionMs);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Call {CallId}: Stasis entry at {EnteredAt:O} already claimed (redelivery); not routed again")]
    public static partial void DuplicateEntry(ILogger logger, string callId, DateTimeOffset enteredAt);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Call {CallId}: AI session {SessionId} attempt {Attempt} failed: {Failure} (relay {RelayInstance})")]
    public static partial void SessionFailed(ILogger logger, string callId, Guid sessionId, int attempt, string failure, string relayInstance);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Error, Message = "Call {CallId}: routing failed with {ErrorType}; claim released for redelivery")]
    public static partial void RoutingFailed(ILogger logger, string callId, string errorType);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Debug, Message = "Call {CallId}: call record updated from {Event}")]
    public static partial void RecordUpdated(ILogger logger, string callId, string @event);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Call {CallId}: Stasis entry at {EnteredAt:O} was decided elsewhere before this decision was written (claim taken over after its lease, or the ingress's edge fallback); no command sent")]
    public static partial void ClaimLost(ILogger logger, string callId, DateTimeOffset enteredAt);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "Call {CallId}: Stasis entry at {EnteredAt:O} is claimed by {Holder} for {LeftMs:0} ms more; waiting for the lease to end")]
    public static partial void WaitingForLease(ILogger logger, string callId, DateTimeOffset enteredAt, string holder, double leftMs);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning, Message = "Call {CallId}: Stasis entry at {EnteredAt:O} is claimed by {Holder} past its DecideBy {DecideBy:O}; not routed here, the ingress's edge fallback has the call")]
    public static partial void LeaseOutlastsDeadline(ILogger logger, string callId, DateTimeOffset enteredAt, string holder, DateTimeOffset decideBy);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Warning, Message = "Call {CallId}: Stasis entry at {EnteredAt:O} still claimed by {Holder} after {Waits} lease waits; not routed here")]
    public static partial void ClaimStillHeld(ILogger logger, string callId, DateTimeOffset enteredAt, string holder, int waits);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Warning, Message = "Call {CallId}: Stasis entry at {EnteredAt:O} consumed {LateMs:0} ms after its DecideBy; not routed, the ingress's edge fallback has the call")]
    public static partial void ConsumedAfterDeadline(ILogger logger, string callId, DateTimeOffset enteredAt, double lateMs);

    [LoggerMessage(EventId = 5014, Level = LogLevel.Warning, Message = "Call {CallId}: database {Step} failed (attempt {Attempt}): {Error}; retrying: {Retrying}")]
    public static partial void DatabaseCallFailed(ILogger logger, string callId, string step, int attempt, string error, bool retrying);

    [LoggerMessage(EventId = 5015, Level = LogLevel.Warning, Message = "Call {CallId}: database unavailable at {Step}; sent {Outcome} ({Reason}) to {Destination} without it, recorded once the database answers")]
    public static partial void DatabaselessFallback(ILogger logger, string callId, string step, RouteOutcome outcome, string reason, string destination);

    [LoggerMessage(EventId = 5016, Level = LogLevel.Warning, Message = "Call {CallId}: database unavailable at {Step} and DecideBy {DecideBy:O} has passed; no command, the ingress's edge fallback has the call")]
    public static partial void DatabaselessAfterDeadline(ILogger logger, string callId, string step, DateTimeOffset decideBy);

    [LoggerMessage(EventId = 5017, Level = LogLevel.Error, Message = "Call {CallId}: decision recorded but the command could not be sent ({ErrorType}); the ingress's edge fallback has the call")]
    public static partial void CommandNotSent(ILogger logger, string callId, string errorType);

    [LoggerMessage(EventId = 5018, Level = LogLevel.Information, Message = "Call {CallId}: routing cancelled (service stopping); claim released for redelivery")]
    public static partial void RoutingCancelled(ILogger logger, string callId);

    [LoggerMessage(EventId = 5019, Level = LogLevel.Warning, Message = "Call {CallId}: claim not released ({ErrorType}); it ends with its lease within {LeaseMs:0} ms")]
    public static partial void ReleaseFailed(ILogger logger, string callId, string errorType, double leaseMs);

    [LoggerMessage(EventId = 5020, Level = LogLevel.Warning, Message = "Call {CallId}: no AI session attempt {Attempt}: {LeftMs:0} ms left before the decision deadline (DecideBy less the margin)")]
    public static partial void NoTimeForAttempt(ILogger logger, string callId, int attempt, double leftMs);

    [LoggerMessage(EventId = 5021, Level = LogLevel.Warning, Message = "Call {CallId}: {Event} not recorded, database unavailable ({Error}); retry {Retry} of {Retries}, then {ErrorQueue}")]
    public static partial void RecordDeferred(ILogger logger, string callId, string @event, string error, int retry, int retries, string errorQueue);

    [LoggerMessage(EventId = 5022, Level = LogLevel.Information, Message = "Call {CallId}: {DecidedBy}'s {Outcome} for the Stasis entry at {EnteredAt:O} ({Reason}) recorded; the entry took it: {Taken}")]
    public static partial void FallbackTakenRecorded(ILogger logger, string callId, string decidedBy, RouteOutcome outcome, DateTimeOffset enteredAt, string reason, bool taken);

    [LoggerMessage(EventId = 5010, Message = "Migration: {Text}")]
    public static partial void Migration(ILogger logger, LogLevel level, string text);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Information, Message = "Schema up to date; applied {Count} script(s): {Scripts}")]
    public static partial void Migrated(ILogger logger, int count, string scripts);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "Migrations at start failed ({Error}); retrying in {DelaySeconds} s")]
    public static partial void MigrationRetry(ILogger logger, string error, double delaySeconds);

    [LoggerMessage(EventId = 5023, Level = LogLevel.Warning, Message = "Call {CallId}: no relay has room ({Relays} heard from, none accepting); the call goes to the fallback without asking")]
    public static partial void NoRelayCapacity(ILogger logger, string callId, int relays);
}
