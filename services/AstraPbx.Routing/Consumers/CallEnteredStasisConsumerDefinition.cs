using MassTransit;

namespace AstraPbx.Routing.Consumers;

/// <summary>Database hiccups are retried; a call waits in Stasis meanwhile, so retries are few and quick.
/// Concurrency is bounded so that a burst cannot exhaust the connection pool.</summary>
public sealed class CallEnteredStasisConsumerDefinition : ConsumerDefinition<CallEnteredStasisConsumer>
{
    public CallEnteredStasisConsumerDefinition() => ConcurrentMessageLimit = 64;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<CallEnteredStasisConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(r => r.Intervals(100, 500));
}
