using AstraPbx.Contracts;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.CallRecords;
using AstraPbx.Routing.Resolution;
using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.Options;

namespace AstraPbx.Routing.Orchestration;

/// <summary>Carries out the decision for one <see cref="CallEnteredStasis"/>: claims the entry (a redelivery does
/// nothing), resolves the route, asks a relay for an AI session (one retry, then the fallback), sends the command to
/// the call's own ingress, publishes <see cref="CallRouted"/> and writes the call record.</summary>
public sealed class CallRouter(
    RouteResolver resolver,
    CallRecordStore records,
    IRequestClient<StartAiSession> startAiSession,
    IOptionsMonitor<RoutingOptions> options,
    RoutingMetrics metrics,
    TimeProvider time,
    ILogger<CallRouter> logger)
{
    /// <summary>Routes the call the message describes; <paramref name="context"/> sends and publishes within the
    /// consumed message's trace.</summary>
    public async Task RouteAsync(ConsumeContext<CallEnteredStasis> context)
    {
        var message = context.Message;
        var token = context.CancellationToken;
        var started = time.GetTimestamp();
        var claim = await records.ClaimAsync(message, MessageTrace.TraceIdOf(context), token);
        metrics.Stage("claim", time.GetElapsedTime(started));
        if (!claim.Claimed)
        {
            RoutingLog.DuplicateEntry(logger, message.CallId, message.EnteredAt);
            return;
        }

        try
        {
            var settings = options.CurrentValue;
            var decision = claim.Entries > settings.MaxStasisEntries
                ? new RouteDecision { Outcome = RouteOutcome.Hangup, Path = ["stasis:" + string.Join(',', message.StasisArgs)], Reason = Reasons.TooManyStasisEntries }
                : await resolver.ResolveAsync(message.StasisArgs, claim.QueuesTimedOut, token);
            metrics.Stage("resolve", time.GetElapsedTime(started));

            var relayTime = TimeSpan.Zero;
            var attempts = 0;
            AiSessionReady? ready = null;
            if (decision.Outcome == RouteOutcome.AiAgent)
            {
                (ready, attempts, relayTime, var failure) = await StartSessionAsync(message, decision, settings, token);
                if (ready is null)
                {
                    decision = resolver.Fallback(Reasons.AiSessionFailedPrefix + failure, decision.Path);
                }
            }

            var sending = time.GetTimestamp();
            if (decision.Outcome == RouteOutcome.Fallback && claim.FallbacksTaken > 0)
            {
                // The call already went to the fallback once and came back unrouted: sending it there again would
                // circle (for example a reception queue that times out to a failing AI agent).
                decision = decision with { Outcome = RouteOutcome.Hangup, Reason = Reasons.FallbackAlreadyTaken + decision.Reason, Context = null, Extension = null };
            }

            await SendCommandAsync(context, message, decision, ready, settings);
            metrics.Stage("send", time.GetElapsedTime(sending));
            var decided = time.GetElapsedTime(started) - relayTime;
            metrics.Decided(decision, decided);
            var routedAt = time.GetUtcNow();
            RoutingLog.Routed(logger, message.CallId, decision.Outcome, decision.Reason, string.Join(" > ", decision.Path), decision.Destination, decided.TotalMilliseconds);
            await context.Publish(new CallRouted
            {
                CallId = message.CallId,
                AsteriskId = message.AsteriskId,
                RoutedAt = routedAt,
                Outcome = decision.Outcome,
                Path = decision.Path,
                Reason = decision.Reason,
                Destination = decision.Destination,
            }, token);
            await records.RecordRoutedAsync(message, decision, routedAt, attempts, ready, token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
        {
            RoutingLog.RoutingFailed(logger, message.CallId, e.GetType().Name);
            await records.ReleaseClaimAsync(message, CancellationToken.None);
            throw;
        }
    }

    private async Task<(AiSessionReady? Ready, int Attempts, TimeSpan RelayTime, string Failure)> StartSessionAsync(
        CallEnteredStasis message, RouteDecision decision, RoutingOptions settings, CancellationToken token)
    {
        var relayTime = TimeSpan.Zero;
        var failure = "";
        var attempts = 0;
        for (var attempt = 0; attempt <= settings.StartSessionRetries; attempt++)
        {
            attempts++;
            var sessionId = Guid.NewGuid();
            var asked = time.GetTimestamp();
            try
            {
                var response = await startAiSession.GetResponse<AiSessionReady, AiSessionFailed>(new StartAiSession
                {
                    CallId = message.CallId,
                    AsteriskId = message.AsteriskId,
                    SessionId = sessionId,
                    GatewayUrl = decision.GatewayUrl!,
                    MediaMode = decision.MediaMode,
                    OrgId = decision.OrganizationId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? message.OrgId,
                    CallerNumber = message.CallerNumber,
                    Extension = message.Extension,
                    ChannelName = message.ChannelName,
                    CustomParameters = message.Variables,
                }, token, RequestTimeout.After(ms: (int)settings.StartSessionTimeout.TotalMilliseconds));
                relayTime += time.GetElapsedTime(asked);
                if (response.Is(out Response<AiSessionReady>? ready))
                {
                    return (ready.Message, attempts, relayTime, "");
                }

                if (response.Is(out Response<AiSessionFailed>? failed))
                {
                    failure = FailureName(failed.Message.Reason);
                    RoutingLog.SessionFailed(logger, message.CallId, sessionId, attempts, failure, failed.Message.RelayInstance);
                }
            }
            catch (RequestTimeoutException)
            {
                relayTime += time.GetElapsedTime(asked);
                failure = "timeout";
                RoutingLog.SessionFailed(logger, message.CallId, sessionId, attempts, failure, "");
            }
        }

        return (null, attempts, relayTime, failure);
    }

    private static async Task SendCommandAsync(ConsumeContext context, CallEnteredStasis message, RouteDecision decision, AiSessionReady? ready, RoutingOptions settings)
    {
        var ingress = await context.GetSendEndpoint(Endpoints.AriIngressAddress(message.AsteriskId));
        var token = context.CancellationToken;
        switch (decision.Outcome)
        {
            case RouteOutcome.AiAgent:
                await ingress.Send(new ConnectToRelay
                {
                    CallId = message.CallId,
                    AsteriskId = message.AsteriskId,
                    SessionId = ready!.SessionId,
                    RelayEndpoint = ready.RelayEndpoint,
                    Context = settings.AudioSocketContext,
                }, token);
                break;

            case RouteOutcome.Dialplan or RouteOutcome.Fallback:
                await ingress.Send(new ContinueInDialplan
                {
                    CallId = message.CallId,
                    AsteriskId = message.AsteriskId,
                    Context = decision.Context!,
                    Extension = decision.Extension!,
                    Priority = decision.Priority,
                    Reason = decision.Outcome == RouteOutcome.Fallback ? "fallback:" + decision.Reason : decision.Reason,
                }, token);
                break;

            default:
                await ingress.Send(new HangupCall { CallId = message.CallId, AsteriskId = message.AsteriskId, Reason = "normal" }, token);
                break;
        }
    }

    /// <summary>The kebab-case name of a relay failure, as it appears in reasons (<c>ai-session-failed:over-capacity</c>).</summary>
    public static string FailureName(AiSessionFailure failure) => failure switch
    {
        AiSessionFailure.Dns => "dns",
        AiSessionFailure.Refused => "refused",
        AiSessionFailure.Tls => "tls",
        AiSessionFailure.Timeout => "gateway-timeout",
        AiSessionFailure.HandshakeRejected => "handshake-rejected",
        AiSessionFailure.OverCapacity => "over-capacity",
        AiSessionFailure.Draining => "draining",
        AiSessionFailure.InvalidUrl => "invalid-url",
        _ => "other",
    };
}
