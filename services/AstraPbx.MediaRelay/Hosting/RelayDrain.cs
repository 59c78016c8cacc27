using System.Diagnostics;
using AstraPbx.MediaRelay.Sessions;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>Drain: stop consuming <c>StartAiSession</c>, report NOT_SERVING, let live calls run up to the drain
/// timeout, then end the rest with 0x00 (Asterisk's dialplan continues). Started by SIGTERM (ApplicationStopping,
/// which waits for it) or by the admin API.</summary>
public sealed class RelayDrain(
    SessionRegistry registry,
    StartAiSessionEndpoint endpoint,
    IOptions<RelayOptions> options,
    ILogger<RelayDrain> logger)
{
    private readonly object _lock = new();
    private Task? _drain;

    /// <summary>Starts the drain (once; later calls return the same task), which completes when no session is left.</summary>
    public Task StartDrain(TimeSpan? timeout = null)
    {
        lock (_lock)
        {
            return _drain ??= DrainAsync(timeout ?? options.Value.DrainTimeout);
        }
    }

    /// <summary>Longest wait for the bus to stop consuming <c>StartAiSession</c>. The drain does not depend on it: the
    /// registry already refuses new sessions, and the drain timeout runs from the drain's start.</summary>
    internal static readonly TimeSpan EndpointStopWait = TimeSpan.FromSeconds(10);

    private async Task DrainAsync(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        registry.SetDraining();
        MediaRelayLog.DrainStarted(logger, registry.LiveCount, timeout);
        try
        {
            using var stopTimeout = new CancellationTokenSource(EndpointStopWait);
            // Bounded here too: a stop that does not honour its token must not hold the drain (and the calls) past
            // the drain timeout.
            await endpoint.StopAsync(stopTimeout.Token).WaitAsync(EndpointStopWait).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            MediaRelayLog.DrainEndpointStopSlow(logger, EndpointStopWait);
        }
        catch (MassTransit.MassTransitException)
        {
            // The bus may be down already; draining goes on regardless.
        }

        // The time left is read once per wait: checked, then read again for the delay, it could be negative by then,
        // and Task.Delay throws on that, which ended the drain without ending its sessions.
        while (registry.Sessions.Count > 0 && timeout - Stopwatch.GetElapsedTime(started) is var left && left > TimeSpan.Zero)
        {
            await Task.WhenAny(WhenAllEnded(), Task.Delay(left)).ConfigureAwait(false);
        }

        var live = registry.Sessions.ToArray();
        if (live.Length > 0)
        {
            MediaRelayLog.DrainTimedOut(logger, live.Length);
            await Task.WhenAll(live.Select(s => s.EndAsync(EndReason.DrainTimeout))).ConfigureAwait(false);
            await WhenAllEnded().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
    }

    private Task WhenAllEnded() => Task.WhenAll(registry.Sessions.Select(s => s.Completion));
}
