using AstraPbx.Contracts.Calls;
using MassTransit;

namespace AstraPbx.AriIngress;

/// <summary>Placeholder until the AriIngress issue lands: gives the service its receive endpoint.</summary>
public sealed class HangupCallConsumer(ILogger<HangupCallConsumer> logger) : IConsumer<HangupCall>
{
    public Task Consume(ConsumeContext<HangupCall> context)
    {
        logger.LogWarning("{Message} for call {CallId} ignored: not implemented yet", nameof(HangupCall), context.Message.CallId);
        return Task.CompletedTask;
    }
}
