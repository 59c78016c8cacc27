using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Consumers;
using AstraPbx.ServiceDefaults.Warmup;

namespace AstraPbx.MediaRelay.Warmup;

/// <summary>The relay's bus traffic, once, through a temporary queue of its own (<see cref="BusWarmup"/>): its consumer
/// made in a scope, a <see cref="StartAiSession"/> answered with <see cref="AiSessionReady"/>, and the events it sends. Nothing reaches
/// Routing or the relays' real <c>start-ai-session</c> queue.</summary>
internal sealed class RelayBusWarmup(BusWarmup bus) : IRepeatableWarmupStep
{
    public string Name => "relay-bus";

    public Task RunAsync(CancellationToken cancellationToken) => RepeatAsync(1, cancellationToken);

    public Task RepeatAsync(int passes, CancellationToken cancellationToken)
    {
        var session = Guid.NewGuid();
        return bus.RunAsync(new BusWarmupPlan()
            .Resolve<StartAiSessionConsumer>()
            .Request(
                new StartAiSession { CallId = "warmup", AsteriskId = "warmup", SessionId = session, GatewayUrl = "ws://127.0.0.1/warmup" },
                new AiSessionReady { CallId = "warmup", AsteriskId = "warmup", SessionId = session, RelayEndpoint = "127.0.0.1:9092" })
            .Message(new AiSessionFailed { CallId = "warmup", AsteriskId = "warmup", SessionId = session, Reason = default })
            .Message(new AiSessionEnded { CallId = "warmup", AsteriskId = "warmup", SessionId = session, EndedBy = default })
            .Message(new RelayCapacity { RelayInstance = "warmup" }), passes, cancellationToken);
    }
}
