using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.CallRecords;
using MassTransit;

namespace AstraPbx.Routing.Consumers;

// The two consumers that complete a call record, each a one-line translation to CallRecordStore. They share one file
// because they share their definition (CallRecordConsumerDefinition: a longer retry).

/// <summary>Writes the hangup into the call record (endpoint <c>call-ended</c>).</summary>
public sealed class CallEndedConsumer(CallRecordStore records) : IConsumer<CallEnded>
{
    public Task Consume(ConsumeContext<CallEnded> context) => records.RecordCallEndedAsync(context.Message, context.CancellationToken);
}

public sealed class CallEndedConsumerDefinition : CallRecordConsumerDefinition<CallEndedConsumer>;

/// <summary>Writes a relay's session counters into the call record (endpoint <c>ai-session-ended</c>).</summary>
public sealed class AiSessionEndedConsumer(CallRecordStore records) : IConsumer<AiSessionEnded>
{
    public Task Consume(ConsumeContext<AiSessionEnded> context) => records.RecordAiSessionEndedAsync(context.Message, context.CancellationToken);
}

public sealed class AiSessionEndedConsumerDefinition : CallRecordConsumerDefinition<AiSessionEndedConsumer>;
