namespace AstraPbx.MediaRelay.Sessions;

/// <summary>One loop for every session's timeouts (not a timer per call): runs <see cref="SessionRegistry.Sweep"/>
/// four times a second.</summary>
internal sealed class SessionWatchdog(SessionRegistry registry) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                registry.Sweep();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
