using AstraPbx.AriIngress.Calls;
using AstraPbx.Contracts.Calls;
using MassTransit;

namespace AstraPbx.AriIngress.Consumers;

// Routing's three commands, each a one-line translation to CallCommands. They share one file because they share
// their endpoint (this Asterisk's queue, connected by Hosting/CommandEndpoint) and their settings.

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

/// <summary>Routing's <see cref="ConnectToRelay"/>, carried out by <see cref="CallCommands"/>.</summary>
internal sealed class ConnectToRelayConsumer(CallCommands calls) : IConsumer<ConnectToRelay>
{
    public Task Consume(ConsumeContext<ConnectToRelay> context) => calls.ConnectToRelayAsync(context.Message, context.CancellationToken);
}

/// <summary>Routing's <see cref="ContinueInDialplan"/>, carried out by <see cref="CallCommands"/>.</summary>
internal sealed class ContinueInDialplanConsumer(CallCommands calls) : IConsumer<ContinueInDialplan>
{
    public Task Consume(ConsumeContext<ContinueInDialplan> context) => calls.ContinueInDialplanAsync(context.Message, context.CancellationToken);
}

/// <summary>Routing's <see cref="HangupCall"/>, carried out by <see cref="CallCommands"/>.</summary>
internal sealed class HangupCallConsumer(CallCommands calls) : IConsumer<HangupCall>
{
    public Task Consume(ConsumeContext<HangupCall> context) => calls.HangupAsync(context.Message, context.CancellationToken);
}

internal sealed class ConnectToRelayConsumerDefinition : AriCommandDefinition<ConnectToRelayConsumer>;

internal sealed class ContinueInDialplanConsumerDefinition : AriCommandDefinition<ContinueInDialplanConsumer>;

internal sealed class HangupCallConsumerDefinition : AriCommandDefinition<HangupCallConsumer>;
