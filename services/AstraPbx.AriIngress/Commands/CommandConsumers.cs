using AstraPbx.AriIngress.Calls;
using AstraPbx.Contracts.Calls;
using MassTransit;

namespace AstraPbx.AriIngress.Commands;

/// <summary>Routing's <see cref="ConnectToRelay"/>, carried out by <see cref="CallCoordinator"/>.</summary>
public sealed class ConnectToRelayConsumer(CallCoordinator calls) : IConsumer<ConnectToRelay>
{
    public Task Consume(ConsumeContext<ConnectToRelay> context) => calls.ConnectToRelayAsync(context.Message, context.CancellationToken);
}

/// <summary>Routing's <see cref="ContinueInDialplan"/>, carried out by <see cref="CallCoordinator"/>.</summary>
public sealed class ContinueInDialplanConsumer(CallCoordinator calls) : IConsumer<ContinueInDialplan>
{
    public Task Consume(ConsumeContext<ContinueInDialplan> context) => calls.ContinueInDialplanAsync(context.Message, context.CancellationToken);
}

/// <summary>Routing's <see cref="HangupCall"/>, carried out by <see cref="CallCoordinator"/>.</summary>
public sealed class HangupCallConsumer(CallCoordinator calls) : IConsumer<HangupCall>
{
    public Task Consume(ConsumeContext<HangupCall> context) => calls.HangupAsync(context.Message, context.CancellationToken);
}

/// <summary>Retry for commands: only <see cref="AriUnavailableException"/> (Asterisk down, 5xx) is worth retrying;
/// a gone channel or one out of Stasis is settled by the coordinator without an exception.</summary>
public abstract class AriCommandDefinition<TConsumer> : ConsumerDefinition<TConsumer>
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

public sealed class ConnectToRelayConsumerDefinition : AriCommandDefinition<ConnectToRelayConsumer>;

public sealed class ContinueInDialplanConsumerDefinition : AriCommandDefinition<ContinueInDialplanConsumer>;

public sealed class HangupCallConsumerDefinition : AriCommandDefinition<HangupCallConsumer>;
