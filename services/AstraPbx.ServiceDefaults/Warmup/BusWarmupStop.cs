using Microsoft.Extensions.Hosting;

namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>Ends the bus warm-up's runs, and waits until each has removed its temporary endpoint, before the bus stops.
/// Registered after MassTransit's hosted service: hosted services stop in reverse order, so this one stops first (the
/// <see cref="WarmupService"/>, registered before the bus, stops after it). A stop that cannot wait longer
/// (<paramref name="cancellationToken"/> of <see cref="StopAsync"/>, or 10 s) lets the bus stop anyway.</summary>
internal sealed class BusWarmupStop(BusWarmup warmup) : IHostedService
{
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(10);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Out of time, it returns and the bus stops with the run still going.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Longest);
        await warmup.StopAsync(bounded.Token).ConfigureAwait(false);
    }
}
