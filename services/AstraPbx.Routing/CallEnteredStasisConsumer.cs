using AstraPbx.Contracts.Calls;
using MassTransit;

namespace AstraPbx.Routing;

/// <summary>Placeholder until the Routing issue lands: gives the service its receive endpoint.</summary>
public sealed class CallEnteredStasisConsumer(ILogger<CallEnteredStasisConsumer> logger) : IConsumer<CallEnteredStasis>
{
    public Task Consume(ConsumeContext<CallEnteredStasis> context)
    {
        logger.LogWarning("{Message} for call {CallId} ignored: not implemented yet", nameof(CallEnteredStasis), context.Message.CallId);
        return Task.CompletedTask;
    }
}
