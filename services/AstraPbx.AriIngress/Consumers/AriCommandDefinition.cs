using AstraPbx.AriIngress.Calls;
using MassTransit;

namespace AstraPbx.AriIngress.Consumers;

/// <summary>Retry for commands: only <see cref="AriUnavailableException"/> (Asterisk down, 5xx) is worth retrying;
/// a gone channel or one out of Stasis is settled by <see cref="CallCommands"/> without an exception.</summary>
internal abstract class AriCommandDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    protected AriCommandDefinition() => ConcurrentMessageLimit = 64;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context)
    {
        consumerConfigurator.UseMessageRetry(r =>
        {
            r.Handle<AriUnavailableException>();
            r.Intervals(200, 1000, 3000, 10000);
        });
    }
}
