using AstraPbx.Contracts.Calls;
using AstraPbx.Routing.Resolution;
using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.Options;

namespace AstraPbx.Routing.Orchestration;

/// <summary>Routes a call when the database did not answer: the configured fallback at once (a hangup when none is
/// configured, or when this instance already sent the call there without the database), <see cref="CallRouted"/>,
/// and <see cref="FallbackTaken"/> so that the decision is recorded once the database is back. The consumed message
/// is then acknowledged: parked in <c>_error</c> it would help nobody.</summary>
public sealed class DatabaselessRouter(
    RouteResolver resolver,
    DatabaselessFallbacks sent,
    IOutboundPublisher outbound,
    IOptionsMonitor<RoutingOptions> options,
    RoutingMetrics metrics,
    TimeProvider time,
    ILogger<DatabaselessRouter> logger)
{
    public async Task RouteAsync(ConsumeContext<CallEnteredStasis> context, DecisionBudget budget, DatabaseUnavailableException failure)
    {
        var message = context.Message;
        if (budget.Expired)
        {
            // The ingress's edge fallback has already continued the call and would ignore this command.
            RoutingLog.DatabaselessAfterDeadline(logger, message.CallId, failure.Step, budget.DecideBy.GetValueOrDefault());
            return;
        }

        var decision = resolver.Fallback(Reasons.DatabaseUnavailable, ["stasis:" + string.Join(',', message.StasisArgs)]);
        if (decision.Outcome == RouteOutcome.Fallback && sent.Contains(message.CallId))
        {
            decision = RoutingCommands.HangupInsteadOfFallback(decision);
        }

        var sending = time.GetTimestamp();
        await RoutingCommands.SendAsync(context, message, decision, null, options.CurrentValue, context.CancellationToken);
        metrics.Stage("send", time.GetElapsedTime(sending));
        if (decision.Outcome == RouteOutcome.Fallback)
        {
            // Only once the command is out: a failed send is redelivered and must still get the fallback.
            sent.Add(message.CallId);
        }

        var now = time.GetUtcNow();
        outbound.Enqueue(RoutingCommands.Routed(message, decision, now), message.CallId);
        outbound.Enqueue(new FallbackTaken
        {
            Entry = message,
            DecidedBy = FallbackTaken.DecidedByRouting,
            Outcome = decision.Outcome,
            Reason = decision.Reason,
            Destination = decision.Destination,
            TakenAt = now,
        }, message.CallId);
        RoutingLog.DatabaselessFallback(logger, message.CallId, failure.Step, decision.Outcome, decision.Reason, decision.Destination);
    }
}
