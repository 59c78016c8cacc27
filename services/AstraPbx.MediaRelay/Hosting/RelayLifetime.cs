using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>Ties the relay to the host's lifetime: listening once started, and on SIGTERM (ApplicationStopping) the
/// drain, which the shutdown waits for so live calls are not cut off.</summary>
internal sealed class RelayLifetime(
    IHostApplicationLifetime lifetime,
    RelayEndpoints endpoints,
    RelayDrain drain,
    IOptions<RelayOptions> options,
    ILogger<RelayLifetime> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            endpoints.SetListening(true);
            MediaRelayLog.Listening(logger, endpoints.AudioSocket.ToString(), endpoints.Advertised);
        });
        lifetime.ApplicationStopping.Register(() =>
        {
            // Blocking here is deliberate: the host stops Kestrel (and the calls) only after the drain finished.
            drain.StartDrain().Wait(options.Value.DrainTimeout + TimeSpan.FromSeconds(20));
            endpoints.SetListening(false);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
