using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;

namespace AstraPbx.Routing.Consumers;

/// <summary>A quorum queue: losing a <c>CallEnteredStasis</c> loses the call's route. A database that does not answer
/// no longer fails the message (the call goes to the fallback without it); what is left to retry is an unexpected
/// error, and a call waits in Stasis meanwhile, so retries are few and quick. Concurrency is bounded so that a burst
/// cannot exhaust the connection pool.</summary>
public sealed class CallEnteredStasisConsumerDefinition : ConsumerDefinition<CallEnteredStasisConsumer>
{
    public CallEnteredStasisConsumerDefinition() => ConcurrentMessageLimit = 64;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<CallEnteredStasisConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseQuorumQueue();
        endpointConfigurator.UseMessageRetry(r => r.Intervals(100, 500));
    }
}
