using AstraPbx.Contracts.Media;
using AstraPbx.Routing.CallRecords;
using MassTransit;

namespace AstraPbx.Routing.Consumers;

/// <summary>Writes a relay's session counters into the call record (endpoint <c>ai-session-ended</c>).</summary>
public sealed class AiSessionEndedConsumer(CallRecordStore records) : IConsumer<AiSessionEnded>
{
    public Task Consume(ConsumeContext<AiSessionEnded> context) => records.RecordAiSessionEndedAsync(context.Message, context.CancellationToken);
}
