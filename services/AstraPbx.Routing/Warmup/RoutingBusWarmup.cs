using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Consumers;
using AstraPbx.Routing.Orchestration;
using AstraPbx.Routing.Resolution;
using AstraPbx.ServiceDefaults.Warmup;
using MassTransit;
using Microsoft.Extensions.Options;

namespace AstraPbx.Routing.Warmup;

/// <summary>Routing's bus traffic, once, through a temporary queue of its own (<see cref="BusWarmup"/>): its consumers
/// made in a scope (with the call router's graph), the events it consumes, the <see cref="StartAiSession"/> request and its reply, also asked by the real <see cref="AiSessionStarter"/>
/// (its request client pointed at the temporary queue), and the commands and events it sends. Nothing reaches a relay,
/// an ingress or a real queue.</summary>
internal sealed class RoutingBusWarmup(BusWarmup bus, IOptionsMonitor<RoutingOptions> options, TimeProvider time, ILogger<AiSessionStarter> logger) : IRepeatableWarmupStep
{
    public string Name => "routing-bus";

    public Task RunAsync(CancellationToken cancellationToken) => RepeatAsync(1, cancellationToken);

    public Task RepeatAsync(int passes, CancellationToken cancellationToken)
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
            .Resolve<CallEnteredStasisConsumer>()
            .Resolve<CallEndedConsumer>()
            .Resolve<AiSessionEndedConsumer>()
            .Resolve<FallbackTakenConsumer>()
            .Message(entry)
            .Request(
                new StartAiSession { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = session, GatewayUrl = "ws://127.0.0.1/warmup" },
                new AiSessionReady { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = session, RelayEndpoint = "127.0.0.1:9092" })
            .Exercise(async (bus, address, token) =>
            {
                // A capacity view of its own: no relay report may make the starter skip the request.
                var starter = new AiSessionStarter(bus.CreateRequestClient<StartAiSession>(address), new RelayCapacityView(time), options, time, logger);
                var decision = new RouteDecision { Outcome = RouteOutcome.AiAgent, Path = ["warmup"], GatewayUrl = "ws://127.0.0.1/warmup" };
                var attempts = await starter.StartAsync(entry, decision, new DecisionBudget(time.GetUtcNow().AddSeconds(3), options.CurrentValue, time), token).ConfigureAwait(false);
                if (attempts.Ready is null)
                {
                    throw new InvalidOperationException("the warm-up StartAiSession was not answered: " + attempts.Failure);
                }
            })
            .Message(new ConnectToRelay { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = session, RelayEndpoint = "127.0.0.1:9092" })
            .Message(new ContinueInDialplan { CallId = entry.CallId, AsteriskId = entry.AsteriskId, Context = "default", Extension = "s" })
            .Message(new HangupCall { CallId = entry.CallId, AsteriskId = entry.AsteriskId })
            .Message(new CallRouted { CallId = entry.CallId, AsteriskId = entry.AsteriskId, Outcome = RouteOutcome.Fallback })
            .Message(new CallEnded { CallId = entry.CallId, AsteriskId = entry.AsteriskId, EndedAt = now })
            .Message(new AiSessionEnded { CallId = entry.CallId, AsteriskId = entry.AsteriskId, SessionId = session, EndedBy = default })
            .Message(new FallbackTaken { Entry = entry, DecidedBy = "warm-up", Outcome = RouteOutcome.Fallback }), passes, cancellationToken);
    }
}
