using System.Diagnostics;
using System.Runtime.CompilerServices;
using AstraPbx.AriIngress.Ari;
using Microsoft.Extensions.Options;

namespace AstraPbx.AriIngress.Calls;

/// <summary>After every (re)connect: Asterisk drops events while no socket is open, so ask it which channels the
/// application holds, publish those still in Stasis that were never published, and check that calls the ingress
/// knows but Asterisk no longer lists are still alive.</summary>
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
            var work = new List<Task>();
            var recovered = await RecoverAsync(listed, work, cancellationToken).ConfigureAwait(false);
            var ended = new StrongBox<int>();
            foreach (var call in calls.Calls)
            {
                if (call.KnownDownstream && !call.Ended && !listed.Contains(call.CallId))
                {
                    work.Add(CallTable.Enqueue(call, () => CheckUnlistedAsync(call, ended, cancellationToken)));
                }
            }

            await Task.WhenAll(work).ConfigureAwait(false);
            logger.Resynced(listed.Count, recovered, ended.Value);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Queues the Stasis entry of every listed channel that sits in our <c>Stasis()</c> and was never
    /// published (its StasisStart was lost with the socket); returns how many.</summary>
    private async Task<int> RecoverAsync(HashSet<string> listed, List<Task> work, CancellationToken cancellationToken)
    {
        var recovered = 0;
        foreach (var id in listed)
        {
            if (calls.Find(id) is { } known && (known.Published || known.Ended))
            {
                continue;
            }

            var channel = await ari.GetChannelAsync(id, cancellationToken).ConfigureAwait(false);
            if (!channel.IsOk || channel.Value?.Dialplan is not { AppName: "Stasis" } dialplan
                || StasisArgs.FromAppData(dialplan.AppData, _options.Application) is not { } args)
            {
                continue;
            }

            var evt = new AriEvent
            {
                Type = "StasisStart",
                Application = _options.Application,
                AsteriskId = connection.AsteriskId ?? "",
                Args = [.. args],
                Channel = channel.Value,
            };
            var call = calls.GetOrAdd(id);
            recovered++;
            var now = Stopwatch.GetTimestamp();
            var at = time.GetUtcNow();
            work.Add(CallTable.Enqueue(call, () => stasis.EnterAsync(call, evt, now, at, resync: true)));
        }

        return recovered;
    }

    /// <summary>A call downstream knows that Asterisk no longer lists: ended if the channel is gone, re-subscribed if
    /// it lives on outside Stasis (the subscription was lost with the socket).</summary>
    private async Task CheckUnlistedAsync(CallState call, StrongBox<int> ended, CancellationToken cancellationToken)
    {
        if (call.Ended)
        {
            return;
        }

        var channel = await ari.GetChannelAsync(call.CallId, cancellationToken).ConfigureAwait(false);
        if (channel.Status == AriStatus.NotFound)
        {
            Interlocked.Increment(ref ended.Value);
            await ending.EndAsync(call, 0, "hung up while the ARI socket was down", "resync", cancellationToken).ConfigureAwait(false);
        }
        else if (channel.IsOk && !call.InStasis)
        {
            // Out of Stasis and not listed: the subscription was lost with the socket; renew it.
            call.Subscribed = (await ari.SubscribeAsync(_options.Application, call.CallId, cancellationToken).ConfigureAwait(false)).IsOk;
        }
    }
}
