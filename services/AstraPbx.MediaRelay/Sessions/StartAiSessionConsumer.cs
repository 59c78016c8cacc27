using AstraPbx.Contracts;
using AstraPbx.Contracts.Media;
using MassTransit;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Sessions;

/// <summary>Thin: prepares the session and replies <see cref="AiSessionReady"/> or <see cref="AiSessionFailed"/>.
/// Its endpoint is connected by <see cref="Hosting.StartAiSessionEndpoint"/> (not ConfigureEndpoints) so a drain can
/// stop it.</summary>
[ExcludeFromConfigureEndpoints]
public sealed class StartAiSessionConsumer(SessionPreparer preparer) : IConsumer<StartAiSession>
{
    public async Task Consume(ConsumeContext<StartAiSession> context)
    {
        var result = await preparer.PrepareAsync(context.Message, context.CancellationToken).ConfigureAwait(false);
        if (result.Ready is not null)
        {
            await context.RespondAsync(result.Ready).ConfigureAwait(false);
        }
        else
        {
            await context.RespondAsync(result.Failed!).ConfigureAwait(false);
        }
    }
}

/// <summary>All relays compete on one queue, <c>start-ai-session</c>; each prepares at most
/// <see cref="RelayOptions.PrepareConcurrency"/> at once. No retry: a failed preparation is answered, not redelivered
/// (the caller is waiting; Routing decides what to do next).</summary>
public sealed class StartAiSessionConsumerDefinition : ConsumerDefinition<StartAiSessionConsumer>
{
    /// <summary>The queue every relay consumes from.</summary>
    public const string QueueName = Endpoints.StartAiSessionQueue;

    public StartAiSessionConsumerDefinition(IOptions<RelayOptions> options)
    {
        EndpointName = QueueName;
        ConcurrentMessageLimit = options.Value.PrepareConcurrency;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<StartAiSessionConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = ConcurrentMessageLimit ?? 16;
    }
}
