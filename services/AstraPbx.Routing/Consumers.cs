using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.CallRecords;
using AstraPbx.Routing.Orchestration;
using MassTransit;

namespace AstraPbx.Routing;

/// <summary>Routes every call that enters Stasis (endpoint <c>call-entered-stasis</c>).</summary>
public sealed class CallEnteredStasisConsumer(CallRouter router) : IConsumer<CallEnteredStasis>
{
    public Task Consume(ConsumeContext<CallEnteredStasis> context) => router.RouteAsync(context);
}

/// <summary>Database hiccups are retried; a call waits in Stasis meanwhile, so retries are few and quick.
/// Concurrency is bounded so that a burst cannot exhaust the connection pool.</summary>
public sealed class CallEnteredStasisConsumerDefinition : ConsumerDefinition<CallEnteredStasisConsumer>
{
    public CallEnteredStasisConsumerDefinition() => ConcurrentMessageLimit = 64;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<CallEnteredStasisConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(r => r.Intervals(100, 500));
}

/// <summary>Writes the hangup into the call record (endpoint <c>call-ended</c>).</summary>
public sealed class CallEndedConsumer(CallRecordStore records, ILogger<CallEndedConsumer> logger) : IConsumer<CallEnded>
{
    public async Task Consume(ConsumeContext<CallEnded> context)
    {
        await records.RecordCallEndedAsync(context.Message, context.CancellationToken);
        RoutingLog.RecordUpdated(logger, context.Message.CallId, nameof(CallEnded));
    }
}

/// <summary>Call records are not urgent: retry longer.</summary>
public sealed class CallEndedConsumerDefinition : ConsumerDefinition<CallEndedConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<CallEndedConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(r => r.Intervals(200, 1000, 5000));
}

/// <summary>Writes a relay's session counters into the call record (endpoint <c>ai-session-ended</c>).</summary>
public sealed class AiSessionEndedConsumer(CallRecordStore records, ILogger<AiSessionEndedConsumer> logger) : IConsumer<AiSessionEnded>
{
    public async Task Consume(ConsumeContext<AiSessionEnded> context)
    {
        await records.RecordAiSessionEndedAsync(context.Message, context.CancellationToken);
        RoutingLog.RecordUpdated(logger, context.Message.CallId, nameof(AiSessionEnded));
    }
}

/// <summary>Call records are not urgent: retry longer.</summary>
public sealed class AiSessionEndedConsumerDefinition : ConsumerDefinition<AiSessionEndedConsumer>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<AiSessionEndedConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(r => r.Intervals(200, 1000, 5000));
}
