using AstraPbx.Routing.Data;
using Microsoft.Extensions.Options;

namespace AstraPbx.Routing.Hosting;

/// <summary>Applies the migrations at start when <c>Routing:ApplyMigrationsAtStart</c> is true. The first attempt runs
/// before the bus starts consuming (this service is registered ahead of it); when the database is down the service
/// still starts, reports NOT_SERVING, and keeps trying in the background.</summary>
internal sealed class MigrationService(
    IOptions<RoutingOptions> routing,
    IOptions<PostgresOptions> postgres,
    SchemaState schema,
    ILogger<MigrationService> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _retrying = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!routing.Value.ApplyMigrationsAtStart)
        {
            schema.MarkReady();
            return;
        }

        if (!await TryMigrateAsync(cancellationToken))
        {
            _retrying = RetryAsync(_stopping.Token);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _retrying.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private async Task RetryAsync(CancellationToken token)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (await TryMigrateAsync(token))
            {
                return;
            }

            delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 30));
        }
    }

    private async Task<bool> TryMigrateAsync(CancellationToken token)
    {
        try
        {
            var applied = await DatabaseMigrator.MigrateAsync(postgres.Value.ConnectionString!, logger, token);
            RoutingLog.Migrated(logger, applied.Count, string.Join(", ", applied));
            schema.MarkReady();
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            RoutingLog.MigrationRetry(logger, e.GetType().Name + ": " + e.Message, 1);
            return false;
        }
    }
}
