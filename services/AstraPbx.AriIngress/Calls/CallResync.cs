using System.Diagnostics;
using AstraPbx.AriIngress.Ari;
using Microsoft.Extensions.Options;

namespace AstraPbx.AriIngress.Calls;

/// <summary>After every (re)connect, and so after an ingress restart: Asterisk drops events while no socket is open, so
/// ask it which channels the application holds. <c>GET /applications/{app}</c> lists in <c>channel_ids</c> the channels
/// in our <c>Stasis()</c> and the channels the application is subscribed to, wherever they are (an earlier ingress
/// process subscribed each channel it sent to the AI context or the dialplan, and Asterisk keeps those subscriptions
/// across the socket's reconnect). Each listed channel the ingress does not already follow is settled in its own queue
/// of work: one in our Stasis is entered (published, its edge timer armed), one elsewhere is adopted (its hangup becomes
/// <c>CallEnded</c>), one gone meanwhile is ended. Known calls Asterisk no longer lists are checked one by one.</summary>
internal sealed class CallResync(AriClient ari, CallTable calls, StasisEntryHandler stasis, CallEndPublisher ending, AriConnection connection,
    IOptions<AriOptions> options, TimeProvider time, ILogger<CallResync> logger)
{
    private readonly AriOptions _options = options.Value;

    public async Task ResyncAsync(CancellationToken cancellationToken)
    {
        try
        {
            var application = await ari.GetApplicationAsync(_options.Application, cancellationToken).ConfigureAwait(false);
            if (!application.IsOk || application.Value is null)
            {
                logger.ResyncFailed(application.Result);
                return;
            }

            var listed = new HashSet<string>(application.Value.ChannelIds ?? [], StringComparer.Ordinal);
            var counts = new Counts();
            var work = new List<Task>();
            foreach (var id in listed)
            {
                if (calls.Find(id) is { } known && (known.Ended || known.Published || (known.KnownDownstream && !known.InStasis)))
                {
                    // Already followed: its entry was published, or it lives on outside Stasis with our subscription.
                    continue;
                }

                // Held from now on, so that its events queue up behind the check instead of being skipped as unknown.
                var call = calls.GetOrAdd(id);
                work.Add(CallTable.Enqueue(call, () => SettleListedAsync(call, counts, cancellationToken)));
            }

            foreach (var call in calls.Calls)
            {
                if (call.KnownDownstream && !call.Ended && !listed.Contains(call.CallId))
                {
                    work.Add(CallTable.Enqueue(call, () => CheckUnlistedAsync(call, counts, cancellationToken)));
                }
            }

            await Task.WhenAll(work).ConfigureAwait(false);
            logger.Resynced(listed.Count, counts.Recovered, counts.Adopted, counts.Ended);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>A listed channel the ingress does not follow yet: entered if it sits in our <c>Stasis()</c>, adopted if it
    /// lives elsewhere (listed there only because the application is subscribed to it), ended if it is gone.</summary>
    private async Task SettleListedAsync(CallState call, Counts counts, CancellationToken cancellationToken)
    {
        if (call.Ended || call.Published)
        {
            return;
        }

        var channel = await ari.GetChannelAsync(call.CallId, cancellationToken).ConfigureAwait(false);
        if (channel.Status == AriStatus.NotFound)
        {
            // Listed a moment ago, so ours (in our Stasis or subscribed by an earlier process): its hangup must be told.
            Interlocked.Increment(ref counts.Ended);
            call.KnownDownstream = true;
            ending.End(call, 0, "hung up while the ARI socket was down", "resync");
            return;
        }

        if (!channel.IsOk || channel.Value is not { } found)
        {
            // Asterisk did not answer: the next resync tries again.
            return;
        }

        if (found.Dialplan is { AppName: "Stasis" } dialplan && StasisArgs.FromAppData(dialplan.AppData, _options.Application) is { } args)
        {
            Interlocked.Increment(ref counts.Recovered);
            var evt = new AriEvent
            {
                Type = "StasisStart",
                Application = _options.Application,
                AsteriskId = connection.AsteriskId ?? "",
                Args = [.. args],
                Channel = found,
            };
            await stasis.EnterAsync(call, evt, Stopwatch.GetTimestamp(), time.GetUtcNow(), resync: true).ConfigureAwait(false);
            return;
        }

        // Out of our Stasis and still listed: an earlier ingress process subscribed to it and sent it on, so downstream
        // knows the call; from now on its ChannelDestroyed publishes CallEnded. Its entry was decided: a command for it
        // redelivered after that process died is late (it would otherwise race the hangup and end the call as "gone").
        Interlocked.Increment(ref counts.Adopted);
        call.KnownDownstream = true;
        call.Subscribed = true;
        call.InStasis = false;
        call.DecidedBy = "decided before this ingress process started (the resync found the channel outside Stasis)";
        logger.CallAdopted(call.CallId, found.Dialplan?.Context ?? "", found.Dialplan?.Exten ?? "", found.Dialplan?.AppName ?? "");
    }

    /// <summary>A call downstream knows that Asterisk no longer lists: ended if the channel is gone, re-subscribed if
    /// it lives on outside Stasis (the subscription was lost).</summary>
    private async Task CheckUnlistedAsync(CallState call, Counts counts, CancellationToken cancellationToken)
    {
        if (call.Ended)
        {
            return;
        }

        var channel = await ari.GetChannelAsync(call.CallId, cancellationToken).ConfigureAwait(false);
        if (channel.Status == AriStatus.NotFound)
        {
            Interlocked.Increment(ref counts.Ended);
            ending.End(call, 0, "hung up while the ARI socket was down", "resync");
        }
        else if (channel.IsOk && !call.InStasis)
        {
            call.Subscribed = (await ari.SubscribeAsync(_options.Application, call.CallId, cancellationToken).ConfigureAwait(false)).IsOk;
        }
    }

    /// <summary>What one resync found; settled in parallel, one queue of work per call.</summary>
    private sealed class Counts
    {
        public int Recovered;
        public int Adopted;
        public int Ended;
    }
}
