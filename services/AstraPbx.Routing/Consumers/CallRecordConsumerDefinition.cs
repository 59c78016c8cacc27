using MassTransit;

namespace AstraPbx.Routing.Consumers;

/// <summary>The endpoint settings of the consumers that write the call record (<see cref="CallEndedConsumer"/>,
/// <see cref="AiSessionEndedConsumer"/>). Call records are not urgent: retry longer.</summary>
public abstract class CallRecordConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(r => r.Intervals(200, 1000, 5000));
}
