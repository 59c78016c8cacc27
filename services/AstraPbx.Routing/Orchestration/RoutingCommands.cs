using AstraPbx.Contracts;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Resolution;
using MassTransit;

namespace AstraPbx.Routing.Orchestration;

/// <summary>What Routing tells the call's ingress, and the event that says what it decided. Every command names the
/// Stasis entry it answers (<c>EnteredAt</c>), so the ingress ignores one that arrives after it handled the entry.</summary>
internal static class RoutingCommands
{
    public static async Task SendAsync(ConsumeContext context, CallEnteredStasis message, RouteDecision decision, AiSessionReady? ready, RoutingOptions settings, CancellationToken token)
    {
        var ingress = await context.GetSendEndpoint(Endpoints.AriIngressAddress(message.AsteriskId));
        switch (decision.Outcome)
        {
            case RouteOutcome.AiAgent:
                await ingress.Send(new ConnectToRelay
                {
                    CallId = message.CallId,
                    AsteriskId = message.AsteriskId,
                    SessionId = ready!.SessionId,
                    RelayEndpoint = ready.RelayEndpoint,
                    Context = decision.CallerSampleRate == 16000 ? settings.WidebandAudioSocketContext : settings.AudioSocketContext,
                    EnteredAt = message.EnteredAt,
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
                    EnteredAt = message.EnteredAt,
                }, token);
                break;

            default:
                await ingress.Send(new HangupCall { CallId = message.CallId, AsteriskId = message.AsteriskId, Reason = "normal", EnteredAt = message.EnteredAt }, token);
                break;
        }
    }

    public static CallRouted Routed(CallEnteredStasis message, RouteDecision decision, DateTimeOffset routedAt) => new()
    {
        CallId = message.CallId,
        AsteriskId = message.AsteriskId,
        RoutedAt = routedAt,
        Outcome = decision.Outcome,
        Path = decision.Path,
        Reason = decision.Reason,
        Destination = decision.Destination,
    };

    /// <summary>The decision with the fallback replaced by a hangup, because the call already went to the fallback
    /// once and came back unrouted: sending it there again would circle (for example a reception queue that times
    /// out to a failing AI agent).</summary>
    public static RouteDecision HangupInsteadOfFallback(RouteDecision decision) =>
        decision with { Outcome = RouteOutcome.Hangup, Reason = Reasons.FallbackAlreadyTaken + decision.Reason, Context = null, Extension = null };
}
