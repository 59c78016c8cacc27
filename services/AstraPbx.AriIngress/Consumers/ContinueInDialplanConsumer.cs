using AstraPbx.AriIngress.Calls;
using AstraPbx.Contracts.Calls;
using MassTransit;

namespace AstraPbx.AriIngress.Consumers;

/// <summary>Routing's <see cref="ContinueInDialplan"/>, carried out by <see cref="CallCommands"/>.</summary>
internal sealed class ContinueInDialplanConsumer(CallCommands calls) : IConsumer<ContinueInDialplan>
{
    public Task Consume(ConsumeContext<ContinueInDialplan> context) => calls.ContinueInDialplanAsync(context.Message, context.CancellationToken);
}
