using AstraPbx.Contracts;
using MassTransit;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Consumers;

/// <summary>All relays compete on one queue, <c>start-ai-session</c>; each prepares at most
/// <see cref="RelayOptions.PrepareConcurrency"/> at once. No retry: a failed preparation is answered, not redelivered
/// (the caller is waiting; Routing decides what to do next). The queue stays a classic durable queue, not a quorum one:
/// a request lives only as long as Routing's 1-2 s timeout (MassTransit sets it as the message's TTL), a lost one is a
/// timeout that Routing already answers with another relay or the fallback, and a quorum queue would add a replicated,
/// fsynced write to every request's path and turn the existing classic queue into a declaration conflict on upgrade.</summary>
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
