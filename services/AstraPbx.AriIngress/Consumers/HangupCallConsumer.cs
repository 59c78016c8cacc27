using AstraPbx.AriIngress.Calls;
using AstraPbx.Contracts.Calls;
using MassTransit;

namespace AstraPbx.AriIngress.Consumers;

/// <summary>Routing's <see cref="HangupCall"/>, carried out by <see cref="CallCommands"/>.</summary>
internal sealed class HangupCallConsumer(CallCommands calls) : IConsumer<HangupCall>
{
    public Task Consume(ConsumeContext<HangupCall> context) => calls.HangupAsync(context.Message, context.CancellationToken);
}
