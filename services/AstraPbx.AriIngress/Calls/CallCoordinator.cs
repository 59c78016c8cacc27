using System.Globalization;
using AstraPbx.AriIngress.Ari;
using Microsoft.Extensions.Options;

namespace AstraPbx.AriIngress.Calls;

/// <summary>What an ARI event does to a call: each event type goes to the part that handles it, into the call's own
/// queue of work (<see cref="CallTable"/>). After every (re)connect the <see cref="CallResync"/> runs.</summary>
internal sealed class CallCoordinator(CallTable calls, StasisEntryHandler stasis, CallEndPublisher ending, CallResync resync,
    IOptions<AriOptions> options, TimeProvider time, ILogger<CallCoordinator> logger) : IAriEventHandler
{
    private readonly string _application = options.Value.Application;

    public Task OnConnectedAsync(CancellationToken cancellationToken) => resync.ResyncAsync(cancellationToken);

    /// <summary>Unknown events and events without a channel id are logged and skipped.</summary>
    public void OnEvent(AriEvent evt, long receivedTimestamp)
    {
        calls.Prune();
        switch (evt.Type)
        {
            case "StasisStart":
                if (ChannelId(evt) is not { } startId)
                {
                    return;
                }

                if (evt.Application is { } app && !string.Equals(app, _application, StringComparison.Ordinal))
                {
                    return;
                }

                var call = calls.GetOrAdd(startId);
                var receivedAt = time.GetUtcNow();
                _ = CallTable.Enqueue(call, () => stasis.EnterAsync(call, evt, receivedTimestamp, receivedAt, resync: false));
                return;

            case "StasisEnd":
                if (Known(evt) is { } leaving)
                {
                    _ = CallTable.Enqueue(leaving, () =>
                    {
                        leaving.InStasis = false;
                        leaving.Published = false;
                        leaving.DisarmEdge();
                        logger.StasisEnded(leaving.CallId, leaving.ContinuedTo is not null);
                        return Task.CompletedTask;
                    });
                }

                return;

            case "ChannelHangupRequest":
                // Only marks who asked. Its cause is not the call's: after our own DELETE Asterisk sends
                // {"cause":32,"soft":true}, and 32 there is its soft-hangup flag, not a Q.850 cause (PROTOCOLS.md).
                if (Known(evt) is { } asked)
                {
                    var request = evt.Soft == true ? "soft" : "cause " + (evt.Cause ?? 0).ToString(CultureInfo.InvariantCulture);
                    _ = CallTable.Enqueue(asked, () =>
                    {
                        asked.HangupRequest ??= request;
                        return Task.CompletedTask;
                    });
                }

                return;

            case "ChannelDestroyed":
                // The call's Q.850 cause and its text.
                if (Known(evt) is { } ended)
                {
                    var cause = evt.Cause ?? 0;
                    var text = string.IsNullOrEmpty(evt.CauseTxt) ? HangupCause.Text(cause) : evt.CauseTxt;
                    _ = CallTable.Enqueue(ended, () =>
                    {
                        ending.End(ended, cause, text, ended.HangupRequest is { } by ? $"{evt.Type} (hangup requested: {by})" : evt.Type);
                        return Task.CompletedTask;
                    });
                }

                return;

            case "ChannelStateChange":
            case "ChannelVarset":
            case "ChannelDialplan":
            case "ChannelDtmfReceived":
            case "ChannelCallerId":
            case "ChannelConnectedLine":
            case "ChannelEnteredBridge":
            case "ChannelLeftBridge":
            case "ChannelTalkingStarted":
            case "ChannelTalkingFinished":
            case "ApplicationReplaced":
            case "ApplicationRegistered":
                return;

            default:
                AriIngressTelemetry.SkippedEvents.Add(1);
                logger.EventUnknown(evt.Type ?? "");
                return;
        }
    }

    /// <summary>The call an event is about, if the ingress holds it.</summary>
    private CallState? Known(AriEvent evt) => ChannelId(evt) is { } id ? calls.Find(id) : null;

    private string? ChannelId(AriEvent evt)
    {
        if (evt.Channel?.Id is { Length: > 0 } id)
        {
            return id;
        }

        AriIngressTelemetry.SkippedEvents.Add(1);
        logger.EventMalformed(0, $"'{evt.Type}' without channel.id");
        return null;
    }
}
