using Microsoft.Extensions.Logging;

namespace AstraPbx.ServiceDefaults.Messaging;

internal static partial class MessagingLog
{
    // Dropped messages are logged for the first drop and then at most once per second; the counter
    // astrapbx.outbound.dropped has every one.
    [LoggerMessage(9101, LogLevel.Error, "Outbound queue full ({Capacity} messages waiting for the broker): {MessageType} for call {CallId} dropped; {Dropped} dropped since the last such line (logged at most once a second)")]
    public static partial void OutboundFull(ILogger logger, string messageType, string callId, int capacity, long dropped);

    [LoggerMessage(9102, LogLevel.Warning, "Broker is not taking messages ({Error}); {Pending} waiting in the outbound queue, retried in order until it does")]
    public static partial void OutboundStalled(ILogger logger, string error, int pending);

    [LoggerMessage(9103, LogLevel.Information, "Broker takes messages again after {Seconds:0.0} s: {Waited} messages waited, {Retries} attempts retried")]
    public static partial void OutboundResumed(ILogger logger, double seconds, int waited, long retries);

    [LoggerMessage(9104, LogLevel.Error, "Outbound {MessageType} for call {CallId} refused by the bus ({Error}); dropped (not retried: it cannot succeed)")]
    public static partial void OutboundRejected(ILogger logger, string messageType, string callId, string error);

    [LoggerMessage(9105, LogLevel.Information, "Stopping: {Pending} outbound messages get up to {Seconds:0.#} s to reach the broker")]
    public static partial void OutboundDraining(ILogger logger, int pending, double seconds);

    [LoggerMessage(9106, LogLevel.Error, "Stopped with {Left} outbound messages unsent (the broker did not take them within the drain time)")]
    public static partial void OutboundLeftUnsent(ILogger logger, int left);

    [LoggerMessage(9107, LogLevel.Error, "Outbound queue stopped: {MessageType} for call {CallId} dropped; {Dropped} dropped since the last such line (logged at most once a second)")]
    public static partial void OutboundStopped(ILogger logger, string messageType, string callId, long dropped);

    [LoggerMessage(9108, LogLevel.Information, "Broker reconnect attempts capped at {Seconds:0.#} s apart")]
    public static partial void ReconnectCapped(ILogger logger, double seconds);

    [LoggerMessage(9109, LogLevel.Warning, "Broker reconnect NOT capped: MassTransit {Version} no longer has the fields it is set through; reconnects back off up to 30 s (see BrokerReconnect)")]
    public static partial void ReconnectCapMissing(ILogger logger, string version);
}
