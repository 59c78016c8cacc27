using AstraPbx.AriIngress.Ari;

namespace AstraPbx.AriIngress;

/// <summary>Every log line of the ingress. Lines about a call carry its CallId; none carries the ARI password.</summary>
internal static partial class AriIngressLog
{
    [LoggerMessage(1, LogLevel.Information, "ARI events socket open: {EventsUri} as user '{Username}', Asterisk {AsteriskId}")]
    public static partial void EventsConnected(this ILogger logger, Uri eventsUri, string username, string asteriskId);

    [LoggerMessage(2, LogLevel.Error, "ARI unavailable (attempt {Attempt}): {Reason}; retrying in {DelayMs:0} ms")]
    public static partial void ConnectFailed(this ILogger logger, int attempt, string reason, double delayMs);

    [LoggerMessage(3, LogLevel.Warning, "ARI events socket lost: {Reason}; reconnecting in {DelayMs:0} ms")]
    public static partial void EventsDisconnected(this ILogger logger, string reason, double delayMs);

    [LoggerMessage(4, LogLevel.Information, "Asterisk id learnt from /ari/asterisk/info: {AsteriskId}")]
    public static partial void AsteriskIdLearnt(this ILogger logger, string asteriskId);

    [LoggerMessage(5, LogLevel.Warning, "ARI event skipped: malformed ({Length} bytes): {Problem}")]
    public static partial void EventMalformed(this ILogger logger, int length, string problem);

    [LoggerMessage(6, LogLevel.Debug, "ARI event skipped: unknown type '{Type}'")]
    public static partial void EventUnknown(this ILogger logger, string type);

    [LoggerMessage(7, LogLevel.Warning, "ARI event larger than {MaxBytes} bytes: closing and reopening the events socket")]
    public static partial void EventOversized(this ILogger logger, int maxBytes);

    [LoggerMessage(8, LogLevel.Information, "ARI resync: {Listed} channels listed, {Recovered} recovered in Stasis, {Adopted} adopted outside Stasis, {Ended} found ended")]
    public static partial void Resynced(this ILogger logger, int listed, int recovered, int adopted, int ended);

    [LoggerMessage(9, LogLevel.Warning, "ARI resync failed: {Result}")]
    public static partial void ResyncFailed(this ILogger logger, AriResult result);

    [LoggerMessage(10, LogLevel.Information, "Commands for Asterisk {AsteriskId} consumed from queue {Queue}")]
    public static partial void CommandQueueConnected(this ILogger logger, string asteriskId, string queue);

    [LoggerMessage(11, LogLevel.Warning, "{Count} calls tracked in memory, more than Ari:MaxTrackedCalls; live calls are kept")]
    public static partial void TooManyCalls(this ILogger logger, int count);

    [LoggerMessage(20, LogLevel.Information, "Call {CallId} entered Stasis with [{Args}] from '{CallerNumber}' to '{Extension}', answer {AnswerStatus}{Resync}")]
    public static partial void CallEntered(this ILogger logger, string callId, string args, string callerNumber, string extension, AriStatus answerStatus, string resync);

    [LoggerMessage(21, LogLevel.Warning, "Call {CallId}: answer failed: {Result}; publishing it unanswered")]
    public static partial void AnswerFailed(this ILogger logger, string callId, AriResult result);

    [LoggerMessage(22, LogLevel.Information, "Call {CallId} left before it could be answered: {Result}")]
    public static partial void GoneBeforeAnswer(this ILogger logger, string callId, AriResult result);

    [LoggerMessage(23, LogLevel.Error, "Call {CallId}: {Message} dropped, the outbound queue is full; the edge fallback still covers the caller")]
    public static partial void PublishRefused(this ILogger logger, string callId, string message);

    [LoggerMessage(24, LogLevel.Information, "Call {CallId} ended: cause {Cause} ({CauseText}) from {Source}")]
    public static partial void CallEnded(this ILogger logger, string callId, int cause, string causeText, string source);

    [LoggerMessage(25, LogLevel.Debug, "Call {CallId} left Stasis (not a hangup); continued: {Continued}")]
    public static partial void StasisEnded(this ILogger logger, string callId, bool continued);

    [LoggerMessage(26, LogLevel.Warning, "Call {CallId}: variable {Variable} unreadable: {Result}")]
    public static partial void VariableUnreadable(this ILogger logger, string callId, string variable, AriResult result);

    [LoggerMessage(30, LogLevel.Information, "Call {CallId} connected to relay {RelayEndpoint}, session {SessionId}, via {Context},s,1")]
    public static partial void ConnectedToRelay(this ILogger logger, string callId, string relayEndpoint, Guid sessionId, string context);

    [LoggerMessage(31, LogLevel.Information, "Call {CallId}: {Command} already carried out ({Detail}); nothing to do")]
    public static partial void CommandAlreadyDone(this ILogger logger, string callId, string command, string detail);

    [LoggerMessage(32, LogLevel.Information, "Call {CallId}: {Command} found the channel gone")]
    public static partial void ChannelGone(this ILogger logger, string callId, string command);

    [LoggerMessage(33, LogLevel.Warning, "Call {CallId}: {Command} failed: {Result}; will be retried")]
    public static partial void CommandFailed(this ILogger logger, string callId, string command, AriResult result);

    [LoggerMessage(34, LogLevel.Information, "Call {CallId} continued in dialplan at {Context},{Extension},{Priority} ({Reason})")]
    public static partial void ContinuedInDialplan(this ILogger logger, string callId, string context, string extension, int priority, string reason);

    [LoggerMessage(35, LogLevel.Information, "Call {CallId} hung up on request ({Reason})")]
    public static partial void HungUp(this ILogger logger, string callId, string reason);

    [LoggerMessage(36, LogLevel.Warning, "Call {CallId}: command addressed to Asterisk {Addressed} reached the ingress of {Own}")]
    public static partial void WrongAsterisk(this ILogger logger, string callId, string addressed, string own);

    [LoggerMessage(37, LogLevel.Warning, "Late {Command} for call {CallId} ignored: its entry {EnteredAt:O} {Why}")]
    public static partial void LateCommand(this ILogger logger, string command, string callId, DateTimeOffset enteredAt, string why);

    [LoggerMessage(40, LogLevel.Warning, "Call {CallId}: no command {WaitedMs:0} ms after it entered Stasis; the edge fallback sent it to {Destination}")]
    public static partial void EdgeFallbackTaken(this ILogger logger, string callId, double waitedMs, string destination);

    [LoggerMessage(41, LogLevel.Warning, "Call {CallId}: no command {WaitedMs:0} ms after it entered Stasis, and the edge fallback already sent it to its target {Count} times (Ari:EdgeFallbackMaxPerCall): hung up ({Reason}) instead of looping")]
    public static partial void EdgeFallbackLoop(this ILogger logger, string callId, double waitedMs, int count, string reason);

    [LoggerMessage(42, LogLevel.Warning, "Call {CallId}: the edge fallback failed: {Problem}; trying again in {DelayMs:0} ms")]
    public static partial void EdgeFallbackFailed(this ILogger logger, string callId, string problem, double delayMs);

    [LoggerMessage(43, LogLevel.Information, "Call {CallId}: the edge fallback found the channel already out of Stasis; nothing to do")]
    public static partial void EdgeFallbackNotNeeded(this ILogger logger, string callId);

    [LoggerMessage(12, LogLevel.Information, "Call {CallId} adopted by the resync: alive outside Stasis at {Context},{Extension} ({App}); its hangup will end it")]
    public static partial void CallAdopted(this ILogger logger, string callId, string context, string extension, string app);
}
