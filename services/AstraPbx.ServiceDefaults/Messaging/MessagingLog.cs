using Microsoft.Extensions.Logging;

namespace AstraPbx.ServiceDefaults.Messaging;

internal static partial class MessagingLog
{
    [LoggerMessage(9101, LogLevel.Error, "Outbound queue full ({Capacity} messages waiting for the broker): {MessageType} for call {CallId} dropped")]
    public static partial void OutboundFull(ILogger logger, string messageType, string callId, int capacity);

    [LoggerMessage(9102, LogLevel.Warning, "Outbound publish failed ({Error}); retrying in {DelayMs} ms")]
    public static partial void OutboundRetry(ILogger logger, string error, double delayMs);
}
