using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>Runs the service's <see cref="IWarmupStep"/>s once at start, in the background and in registration order,
/// then marks <see cref="WarmupState"/> done so that <see cref="WarmupHealthCheck"/> lets gRPC health say SERVING.
/// A failing step is logged and the next one runs; the whole warm-up is cut at <c>Warmup:Timeout</c> (a step that
/// ignores its token is left behind, not awaited). Logs one line with each step's time.</summary>
public sealed class WarmupService(
    IEnumerable<IWarmupStep> steps,
    WarmupState state,
    IOptions<WarmupOptions> options,
    ILogger<WarmupService> logger) : BackgroundService
{
    private readonly StringBuilder _done = new();
    private volatile string _current = "-";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Host start must not wait for the warm-up: Kestrel answers health (NOT_SERVING) meanwhile.
        await Task.Yield();
        var settings = options.Value;
        if (!settings.Enabled)
        {
            WarmupLog.Disabled(logger);
            state.MarkDone();
            return;
        }

        var started = Stopwatch.GetTimestamp();
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        try
        {
            await RunStepsAsync(cut.Token).WaitAsync(settings.Timeout, stoppingToken).ConfigureAwait(false);
            WarmupLog.Finished(logger, Stopwatch.GetElapsedTime(started).TotalMilliseconds, Summary());
        }
        catch (TimeoutException)
        {
            cut.Cancel();
            WarmupLog.TimedOut(logger, settings.Timeout.TotalSeconds, _current, Summary());
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping before the warm-up finished: nothing to report.
        }
        finally
        {
            state.MarkDone();
        }
    }

    private async Task RunStepsAsync(CancellationToken cancellationToken)
    {
        foreach (var step in steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _current = step.Name;
            var started = Stopwatch.GetTimestamp();
            string outcome;
            try
            {
                await step.RunAsync(cancellationToken).ConfigureAwait(false);
                outcome = $"{Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                WarmupLog.StepFailed(logger, step.Name, elapsed, e);
                outcome = $"failed after {elapsed:0} ms";
            }

            lock (_done)
            {
                _done.Append(_done.Length == 0 ? "" : ", ").Append(step.Name).Append(' ').Append(outcome);
            }
        }

        _current = "-";
    }

    private string Summary()
    {
        lock (_done)
        {
            return _done.Length == 0 ? "no steps" : _done.ToString();
        }
    }
}
