using AstraPbx.AriIngress.Calls;
using AstraPbx.Contracts.Calls;
using MassTransit;

namespace AstraPbx.AriIngress.Consumers;

/// <summary>Routing's <see cref="ConnectToRelay"/>, carried out by <see cref="CallCommands"/>.</summary>
internal sealed class ConnectToRelayConsumer(CallCommands calls) : IConsumer<ConnectToRelay>
{
    public Task Consume(ConsumeContext<ConnectToRelay> context) => calls.ConnectToRelayAsync(context.Message, context.CancellationToken);
}
