using AstraPbx.Contracts.Calls;
using AstraPbx.Routing.CallRecords;
using MassTransit;

namespace AstraPbx.Routing.Consumers;

/// <summary>Writes the hangup into the call record (endpoint <c>call-ended</c>).</summary>
public sealed class CallEndedConsumer(CallRecordStore records) : IConsumer<CallEnded>
{
    public Task Consume(ConsumeContext<CallEnded> context) => records.RecordCallEndedAsync(context.Message, context.CancellationToken);
}
