using AstraPbx.Contracts.Media;
using MassTransit;

namespace AstraPbx.MediaRelay;

/// <summary>Placeholder until the MediaRelay issue lands: gives the service its receive endpoint.</summary>
public sealed class StartAiSessionConsumer(ILogger<StartAiSessionConsumer> logger) : IConsumer<StartAiSession>
{
    public Task Consume(ConsumeContext<StartAiSession> context)
    {
        logger.LogWarning("{Message} for call {CallId} ignored: not implemented yet", nameof(StartAiSession), context.Message.CallId);
        return Task.CompletedTask;
    }
}
