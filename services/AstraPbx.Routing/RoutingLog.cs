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

    [LoggerMessage(EventId = 5010, Message = "Migration: {Text}")]
    public static partial void Migration(ILogger logger, LogLevel level, string text);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Information, Message = "Schema up to date; applied {Count} script(s): {Scripts}")]
    public static partial void Migrated(ILogger logger, int count, string scripts);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning, Message = "Migrations at start failed ({Error}); retrying in {DelaySeconds} s")]
    public static partial void MigrationRetry(ILogger logger, string error, double delaySeconds);
}
