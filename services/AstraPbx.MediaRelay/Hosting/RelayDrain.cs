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

    private async Task DrainAsync(TimeSpan timeout)
    {
        registry.SetDraining();
        MediaRelayLog.DrainStarted(logger, registry.LiveCount, timeout);
        try
        {
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await endpoint.StopAsync(stopTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or MassTransit.MassTransitException)
        {
            // The bus may be down already; draining goes on regardless.
        }

        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && registry.Sessions.Count > 0)
        {
            await Task.WhenAny(WhenAllEnded(), Task.Delay(deadline - DateTime.UtcNow)).ConfigureAwait(false);
        }

        var left = registry.Sessions.ToArray();
        if (left.Length > 0)
        {
            MediaRelayLog.DrainTimedOut(logger, left.Length);
            await Task.WhenAll(left.Select(s => s.EndAsync(EndReason.DrainTimeout))).ConfigureAwait(false);
            await WhenAllEnded().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
    }

    private Task WhenAllEnded() => Task.WhenAll(registry.Sessions.Select(s => s.Completion));
}
