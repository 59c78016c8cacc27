using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.CallRecords;
using AstraPbx.Routing.Orchestration;
using MassTransit;

namespace AstraPbx.Routing.Consumers;

// The consumers that complete a call record, each a short translation to CallRecordStore. They share one file
// because they share their definition (CallRecordConsumerDefinition: quorum queues, a long bounded retry).

/// <summary>Writes the hangup into the call record (endpoint <c>call-ended</c>).</summary>
public sealed class CallEndedConsumer(CallRecordStore records, ILogger<CallEndedConsumer> logger) : IConsumer<CallEnded>
{
    public Task Consume(ConsumeContext<CallEnded> context) =>
        RecordWrite.RunAsync(context, logger, context.Message.CallId, nameof(CallEnded), () => records.RecordCallEndedAsync(context.Message, context.CancellationToken));
}

public sealed class CallEndedConsumerDefinition : CallRecordConsumerDefinition<CallEndedConsumer>;

/// <summary>Writes a relay's session counters into the call record (endpoint <c>ai-session-ended</c>).</summary>
public sealed class AiSessionEndedConsumer(CallRecordStore records, ILogger<AiSessionEndedConsumer> logger) : IConsumer<AiSessionEnded>
{
    public Task Consume(ConsumeContext<AiSessionEnded> context) =>
        RecordWrite.RunAsync(context, logger, context.Message.CallId, nameof(AiSessionEnded), () => records.RecordAiSessionEndedAsync(context.Message, context.CancellationToken));
}

public sealed class AiSessionEndedConsumerDefinition : CallRecordConsumerDefinition<AiSessionEndedConsumer>;

/// <summary>Records a decision made without Routing's database (endpoint <c>fallback-taken</c>): the ingress's edge
/// fallback, or Routing's own while its database was down.</summary>
public sealed class FallbackTakenConsumer(CallRecordStore records, ILogger<FallbackTakenConsumer> logger) : IConsumer<FallbackTaken>
{
    public Task Consume(ConsumeContext<FallbackTaken> context)
    {
        var message = context.Message;
        return RecordWrite.RunAsync(context, logger, message.Entry.CallId, nameof(FallbackTaken), async () =>
        {
            var taken = await records.RecordFallbackTakenAsync(message, MessageTrace.TraceIdOf(context), context.CancellationToken);
            RoutingLog.FallbackTakenRecorded(logger, message.Entry.CallId, message.DecidedBy, message.Outcome, message.Entry.EnteredAt, message.Reason, taken);
        });
    }
}

public sealed class FallbackTakenConsumerDefinition : CallRecordConsumerDefinition<FallbackTakenConsumer>;
