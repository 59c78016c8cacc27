using AstraPbx.Contracts.Calls;
using MassTransit;

namespace AstraPbx.AriIngress.Calls;

/// <summary>Publishes the ingress's events on the bus, under the current span (the call's trace reaches the bus).</summary>
internal sealed class BusCallEventPublisher(IBus bus) : ICallEventPublisher
{
    public Task PublishAsync(CallEnteredStasis message, CancellationToken cancellationToken) => bus.Publish(message, cancellationToken);

    public Task PublishAsync(CallEnded message, CancellationToken cancellationToken) => bus.Publish(message, cancellationToken);
}
