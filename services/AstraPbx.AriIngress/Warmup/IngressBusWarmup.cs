using AstraPbx.Contracts.Calls;
using AstraPbx.AriIngress.Consumers;
using AstraPbx.Contracts.Media;
using AstraPbx.ServiceDefaults.Warmup;

namespace AstraPbx.AriIngress.Warmup;

/// <summary>The ingress's bus traffic, once, through a temporary queue of its own (<see cref="BusWarmup"/>): its command
/// consumers made in a scope (with <see cref="Calls.CallCommands"/>), the events it publishes and the commands it consumes. Nothing reaches Routing or a real queue.</summary>
internal sealed class IngressBusWarmup(BusWarmup bus) : IRepeatableWarmupStep
{
    public string Name => "ingress-bus";

    public Task RunAsync(CancellationToken cancellationToken) => RepeatAsync(1, cancellationToken);

    public Task RepeatAsync(int passes, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var entry = new CallEnteredStasis
        {
            CallId = "warmup",
            AsteriskId = "warmup",
            StasisArgs = ["ai_agent", "1"],
            Variables = new Dictionary<string, string>(StringComparer.Ordinal) { ["ORG_ID"] = "warmup" },
            EnteredAt = now,
            AnsweredAt = now,
            DecideBy = now.AddSeconds(3),
        };
        return bus.RunAsync(new BusWarmupPlan()
            .Resolve<ConnectToRelayConsumer>()
            .Resolve<ContinueInDialplanConsumer>()
            .Resolve<HangupCallConsumer>()
            .Message(entry)
            .Message(new CallEnded { CallId = entry.CallId, AsteriskId = entry.AsteriskId, Cause = 16, EndedAt = now })
            .Message(new FallbackTaken { Entry = entry, DecidedBy = "warm-up", Outcome = RouteOutcome.Fallback })
            .Message(new ConnectToRelay { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = Guid.Empty, RelayEndpoint = "127.0.0.1:9092", EnteredAt = now })
            .Message(new ContinueInDialplan { CallId = entry.CallId, AsteriskId = entry.AsteriskId, Context = "default", Extension = "s" })
            .Message(new HangupCall { CallId = entry.CallId, AsteriskId = entry.AsteriskId }), passes, cancellationToken);
    }
}
