using AstraPbx.Contracts.Calls;
using AstraPbx.Routing.CallRecords;
using AstraPbx.Routing.Resolution;
using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.Options;

namespace AstraPbx.Routing.Orchestration;

/// <summary>Carries out the decision for one <see cref="CallEnteredStasis"/>, exactly one command per Stasis entry:
/// claims the entry with a lease (a decided entry is a redelivery: nothing to do), resolves the route, asks a relay
/// for an AI session within the decision's budget, writes the decision while the claim is still held, and only then
/// sends the command to the call's own ingress and publishes <see cref="CallRouted"/>. A database that does not
/// answer sends the call to the fallback without it (<see cref="DatabaselessRouter"/>).</summary>
public sealed class CallRouter(
    StasisClaimStore claims,
    RouteResolver resolver,
    AiSessionStarter sessions,
    DatabaseGuard database,
    DatabaselessRouter databaseless,
    DatabaselessFallbacks databaselessFallbacks,
    IOutboundPublisher outbound,
    RoutingInstance instance,
    IOptionsMonitor<RoutingOptions> options,
    RoutingMetrics metrics,
    TimeProvider time,
    ILogger<CallRouter> logger)
{
    /// <summary>How many running leases of other instances a decision waits out before it gives the entry up.</summary>
    private const int MaxLeaseWaits = 3;

    /// <summary>Waiting this much past a lease's end lets clock granularity and the holder's last write settle.</summary>
    private static readonly TimeSpan LeaseSlack = TimeSpan.FromMilliseconds(50);

    /// <summary>Routes the call the message describes; <paramref name="context"/> sends within the consumed
    /// message's trace.</summary>
    public async Task RouteAsync(ConsumeContext<CallEnteredStasis> context)
    {
        var message = context.Message;
        var settings = options.CurrentValue;
        var budget = new DecisionBudget(message.DecideBy, settings, time);
        var started = time.GetTimestamp();
        if (budget.Expired)
        {
            await RecordLateEntryAsync(context, settings);
            return;
        }

        // The route is resolved while the entry is being claimed, on another pooled connection: one database round
        // trip less before the relay is asked (docs/benchmarks.md, "Call setup, end to end"). It assumes a first entry
        // (no queue timed out yet); a re-entry resolves again once the claim has listed the earlier entries.
        Task<RouteDecision>? resolving = null;
        try
        {
            resolving = database.RunAsync(message.CallId, "resolve", budget, t => resolver.ResolveAsync(message.StasisArgs, [], t), context.CancellationToken,
                resolver.PlannedWait(message.StasisArgs));
            if (await ClaimAsync(context, budget, settings) is not { } claim)
            {
                Forget(resolving);
                return;
            }

            metrics.Stage("claim", time.GetElapsedTime(started));
            await DecideAsync(context, claim, resolving, budget, settings, started);
        }
        catch (DatabaseUnavailableException e)
        {
            Forget(resolving);
            // A claim taken before the failure keeps its lease: the database that would end it is the one not answering.
            await databaseless.RouteAsync(context, budget, e);
        }
        catch (Exception e)
        {
            Forget(resolving);
            if (e is OperationCanceledException && context.CancellationToken.IsCancellationRequested)
            {
                RoutingLog.RoutingCancelled(logger, message.CallId);
            }
            else
            {
                RoutingLog.RoutingFailed(logger, message.CallId, e.GetType().Name);
            }

            // Only a claim this instance holds on an undecided entry is given back, so this is safe whatever step
            // failed, the claim itself included.
            await ReleaseAsync(message, settings);
            throw;
        }
    }

    /// <summary>Claims the entry; null when it is not this instance's to decide (already decided, or held by another
    /// instance past the point where waiting could still help the caller).</summary>
    private async Task<StasisClaim?> ClaimAsync(ConsumeContext<CallEnteredStasis> context, DecisionBudget budget, RoutingOptions settings)
    {
        var message = context.Message;
        var traceId = MessageTrace.TraceIdOf(context);
        for (var waits = 0; ; waits++)
        {
            var claim = await database.RunAsync(message.CallId, "claim", budget,
                t => claims.ClaimAsync(message, traceId, instance.Id, settings.ClaimLease, t), context.CancellationToken);
            if (claim.Claimed)
            {
                return claim;
            }

            if (claim.Decided)
            {
                RoutingLog.DuplicateEntry(logger, message.CallId, message.EnteredAt);
                return null;
            }

            var wait = claim.LeaseLeft + LeaseSlack;
            if (budget.DecideBy is { } decideBy && time.GetUtcNow() + wait >= decideBy)
            {
                RoutingLog.LeaseOutlastsDeadline(logger, message.CallId, message.EnteredAt, claim.HeldBy ?? "", decideBy);
                return null;
            }

            if (waits == MaxLeaseWaits)
            {
                RoutingLog.ClaimStillHeld(logger, message.CallId, message.EnteredAt, claim.HeldBy ?? "", waits);
                return null;
            }

            // The holder decides (the entry is then a duplicate) or dies (its lease runs out and this instance takes
            // over): one wait for the lease's end, not a poll.
            RoutingLog.WaitingForLease(logger, message.CallId, message.EnteredAt, claim.HeldBy ?? "", wait.TotalMilliseconds);
            await Task.Delay(wait, time, context.CancellationToken);
        }
    }

    /// <summary>A speculative resolution that is not needed any more: its failure is nobody's to handle.</summary>
    private static void Forget(Task? task) =>
        task?.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    private async Task DecideAsync(ConsumeContext<CallEnteredStasis> context, StasisClaim claim, Task<RouteDecision> resolving, DecisionBudget budget, RoutingOptions settings, long started)
    {
        var message = context.Message;
        var token = context.CancellationToken;
        RouteDecision decision;
        if (claim.Entries > settings.MaxStasisEntries)
        {
            Forget(resolving);
            decision = new RouteDecision { Outcome = RouteOutcome.Hangup, Path = ["stasis:" + string.Join(',', message.StasisArgs)], Reason = Reasons.TooManyStasisEntries };
        }
        else if (claim.QueuesTimedOut.Count > 0)
        {
            // A re-entry: the queues it already timed out of decide loops, which the early resolution did not know.
            Forget(resolving);
            decision = await database.RunAsync(message.CallId, "resolve", budget, t => resolver.ResolveAsync(message.StasisArgs, claim.QueuesTimedOut, t), token,
                resolver.PlannedWait(message.StasisArgs));
        }
        else
        {
            decision = await resolving;
        }
        metrics.Stage("resolve", time.GetElapsedTime(started));

        var session = AiSessionAttempts.None;
        if (decision.Outcome == RouteOutcome.AiAgent)
        {
            session = await sessions.StartAsync(message, decision, budget, token);
            if (session.Ready is null)
            {
                decision = resolver.Fallback(Reasons.AiSessionFailedPrefix + session.Failure, decision.Path);
            }
        }

        if (decision.Outcome == RouteOutcome.Fallback && (claim.FallbacksTaken > 0 || databaselessFallbacks.Contains(message.CallId)))
        {
            decision = RoutingCommands.HangupInsteadOfFallback(decision);
        }

        var routedAt = time.GetUtcNow();
        var recorded = new RecordedDecision(decision.Outcome, decision.Reason, decision.Path, decision.Destination, FallbackTaken.DecidedByRouting, routedAt)
        {
            AiAttempts = session.Attempts,
            Session = session.Ready,
        };
        if (!await database.RunAsync(message.CallId, "decision", budget, t => claims.DecideAsync(message, recorded, instance.Id, t), token))
        {
            RoutingLog.ClaimLost(logger, message.CallId, message.EnteredAt);
            return;
        }

        var sending = time.GetTimestamp();
        try
        {
            await RoutingCommands.SendAsync(context, message, decision, session.Ready, settings, token);
        }
        catch (Exception e)
        {
            // The decision is recorded, so a redelivery would find the entry decided: retrying cannot send it either.
            RoutingLog.CommandNotSent(logger, message.CallId, e.GetType().Name);
            return;
        }

        metrics.Stage("send", time.GetElapsedTime(sending));
        var decided = time.GetElapsedTime(started) - session.RelayTime;
        metrics.Decided(decision, decided);
        RoutingLog.Routed(logger, message.CallId, decision.Outcome, decision.Reason, string.Join(" > ", decision.Path), decision.Destination, decided.TotalMilliseconds);
        outbound.Enqueue(RoutingCommands.Routed(message, decision, routedAt), message.CallId);
    }

    /// <summary>Consumed after its <c>DecideBy</c> (delayed by a broker outage or a Routing restart): the ingress's
    /// edge fallback has the call, so only the entry is recorded.</summary>
    private async Task RecordLateEntryAsync(ConsumeContext<CallEnteredStasis> context, RoutingOptions settings)
    {
        var message = context.Message;
        var late = time.GetUtcNow() - message.DecideBy.GetValueOrDefault();
        RoutingLog.ConsumedAfterDeadline(logger, message.CallId, message.EnteredAt, late.TotalMilliseconds);
        try
        {
            var traceId = MessageTrace.TraceIdOf(context);
            await database.RunAsync(message.CallId, "entry", new DecisionBudget(null, settings, time),
                t => claims.ClaimAsync(message, traceId, instance: null, TimeSpan.Zero, t), context.CancellationToken);
        }
        catch (DatabaseUnavailableException)
        {
            // The ingress's FallbackTaken records the entry too, once the database answers.
        }
    }

    /// <summary>Gives the claim back so that the redelivery decides at once, on any instance. Never with the
    /// consume's token (it may be the cancellation that brought us here); a release that fails lets the lease
    /// run out instead.</summary>
    private async Task ReleaseAsync(CallEnteredStasis message, RoutingOptions settings)
    {
        using var timeout = new CancellationTokenSource(settings.DatabaseTimeout);
        try
        {
            await claims.ReleaseAsync(message, instance.Id, timeout.Token);
        }
        catch (Exception e)
        {
            RoutingLog.ReleaseFailed(logger, message.CallId, e.GetType().Name, settings.ClaimLease.TotalMilliseconds);
        }
    }
}
