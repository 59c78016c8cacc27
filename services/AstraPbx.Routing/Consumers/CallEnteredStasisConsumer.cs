using AstraPbx.Contracts.Calls;
using AstraPbx.Routing.Orchestration;
using MassTransit;

namespace AstraPbx.Routing.Consumers;

/// <summary>Routes every call that enters Stasis (endpoint <c>call-entered-stasis</c>).</summary>
public sealed class CallEnteredStasisConsumer(CallRouter router) : IConsumer<CallEnteredStasis>
{
    public Task Consume(ConsumeContext<CallEnteredStasis> context) => router.RouteAsync(context);
}
