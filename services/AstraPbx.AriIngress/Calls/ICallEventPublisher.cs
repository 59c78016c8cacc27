using AstraPbx.Contracts.Calls;

namespace AstraPbx.AriIngress.Calls;

/// <summary>Where the ingress's two events go: the bus in the service (<see cref="BusCallEventPublisher"/>).</summary>
internal interface ICallEventPublisher
{
    /// <summary>Completes once the broker confirmed the message.</summary>
    Task PublishAsync(CallEnteredStasis message, CancellationToken cancellationToken);

    /// <summary>Completes once the broker confirmed the message.</summary>
    Task PublishAsync(CallEnded message, CancellationToken cancellationToken);
}
