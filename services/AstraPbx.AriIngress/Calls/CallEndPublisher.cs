using System.Diagnostics;
using AstraPbx.AriIngress.Ari;
using AstraPbx.Contracts.Calls;
using AstraPbx.ServiceDefaults.Messaging;

namespace AstraPbx.AriIngress.Calls;

/// <summary>Ends a call: queues <see cref="CallEnded"/> once, whatever ended it (a hangup event, a command that found
/// the channel gone, the resync); later hangup events and commands for the call are then no-ops. Never waits on the
/// bus: the outbound queue publishes it, through a broker outage too.</summary>
internal sealed class CallEndPublisher(CallTable calls, IOutboundPublisher publisher, AriConnection connection, TimeProvider time,
    ILogger<CallEndPublisher> logger)
{
    /// <summary>Runs inside the call's queue of work. <paramref name="source"/> names what ended it, for the log.</summary>
    public void End(CallState call, int cause, string causeText, string source)
    {
        if (call.Ended)
        {
            return;
        }

        if (!call.KnownDownstream)
        {
            // Hung up before CallEnteredStasis went out: nobody downstream knows the call.
            calls.Forget(call);
            return;
        }

        Activity.Current = null;
        using var activity = AriIngressTelemetry.Source.StartActivity("call ended", ActivityKind.Internal, call.TraceContext);
        activity?.SetTag(AriIngressTelemetry.CallIdTag, call.CallId);
        activity?.SetTag("astrapbx.hangup_cause", cause);
        var ended = new CallEnded
        {
            CallId = call.CallId,
            AsteriskId = connection.AsteriskId ?? "",
            Cause = cause,
            CauseText = causeText,
            EndedAt = time.GetUtcNow(),
        };
        if (!publisher.Enqueue(ended, call.CallId))
        {
            // Not marked ended: the resync after the next (re)connect finds the channel gone and tries again.
            activity?.SetStatus(ActivityStatusCode.Error, "outbound queue full");
            logger.PublishRefused(call.CallId, nameof(CallEnded));
            return;
        }

        logger.CallEnded(call.CallId, cause, causeText, source);
        calls.Forget(call);
    }
}
