using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.ServiceDefaults.Warmup;

namespace AstraPbx.Routing.Warmup;

/// <summary>Routing's bus traffic, once, through a temporary queue of its own (<see cref="BusWarmup"/>): the events it
/// consumes, the <see cref="StartAiSession"/> request and its reply, and the commands and events it sends. Nothing
/// reaches a relay, an ingress or a real queue.</summary>
internal sealed class RoutingBusWarmup(BusWarmup bus) : IWarmupStep
{
    public string Name => "routing-bus";

    public Task RunAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var entry = new CallEnteredStasis
        {
            CallId = "warmup",
            AsteriskId = "warmup",
            StasisArgs = ["ai_agent", "1"],
            EnteredAt = now,
            AnsweredAt = now,
            DecideBy = now.AddSeconds(3),
        };
        var session = Guid.NewGuid();
        return bus.RunAsync(new BusWarmupPlan()
            .Message(entry)
            .Request(
                new StartAiSession { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = session, GatewayUrl = "ws://127.0.0.1/warmup" },
                new AiSessionReady { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = session, RelayEndpoint = "127.0.0.1:9092" })
            .Message(new ConnectToRelay { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = session, RelayEndpoint = "127.0.0.1:9092" })
            .Message(new ContinueInDialplan { CallId = entry.CallId, AsteriskId = entry.AsteriskId, Context = "default", Extension = "s" })
            .Message(new HangupCall { CallId = entry.CallId, AsteriskId = entry.AsteriskId })
            .Message(new CallRouted { CallId = entry.CallId, AsteriskId = entry.AsteriskId, Outcome = RouteOutcome.Fallback })
            .Message(new CallEnded { CallId = entry.CallId, AsteriskId = entry.AsteriskId, EndedAt = now })
            .Message(new AiSessionEnded { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = session, EndedBy = default })
            .Message(new FallbackTaken { Entry = entry, DecidedBy = "warm-up", Outcome = RouteOutcome.Fallback }), cancellationToken);
    }
}
