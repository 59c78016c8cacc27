using System.Diagnostics;
using System.Runtime;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>Runs the service's <see cref="IWarmupStep"/>s once at start, in the background and in registration order,
/// then the repeatable ones (<see cref="IRepeatableWarmupStep"/>) in rounds until the runtime stops recompiling
/// (<c>Warmup:SettleRounds</c>, within <c>Warmup:SettleBudget</c>), then marks <see cref="WarmupState"/> done so that <see cref="WarmupHealthCheck"/> lets gRPC health say SERVING.
/// A failing step is logged and the next one runs; the whole warm-up is cut at <c>Warmup:Timeout</c> (a step that
/// ignores its token is left behind, not awaited). Logs one line with each step's time.</summary>
public sealed class WarmupService(
    IEnumerable<IWarmupStep> steps,
    WarmupState state,
    IOptions<WarmupOptions> options,
    ILogger<WarmupService> logger) : BackgroundService
{
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxDrain = TimeSpan.FromSeconds(2);

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
            await RunStepsAsync(settings, cut.Token).WaitAsync(settings.Timeout, stoppingToken).ConfigureAwait(false);
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

    private async Task RunStepsAsync(WarmupOptions settings, CancellationToken cancellationToken)
    {
        var repeatable = new List<IRepeatableWarmupStep>();
        foreach (var step in steps)
        {
            if (await RunStepAsync(step.Name, step.RunAsync, cancellationToken).ConfigureAwait(false) && step is IRepeatableWarmupStep again)
            {
                repeatable.Add(again);
            }
        }

        if (repeatable.Count > 0 && settings.SettleRounds > 0)
        {
            await SettleAsync(repeatable, settings, cancellationToken).ConfigureAwait(false);
        }

        _current = "-";
    }

    /// <summary>Rounds of the repeatable steps until <c>Warmup:SettleQuietRounds</c> rounds in a row each compiled fewer
    /// than <c>Warmup:SettleQuietMethods</c> methods in the whole process, or until no budget is left for another round
    /// (<c>Warmup:SettleBudget</c>). A step that fails a round is left out of the next ones.</summary>
    private async Task SettleAsync(List<IRepeatableWarmupStep> repeatable, WarmupOptions settings, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var compiled = JitInfo.GetCompiledMethodCount();
        var counts = new List<long>();
        var quiet = 0;
        var budget = settings.EffectiveSettleBudget;
        var spent = false;
        for (var round = 1; round <= settings.SettleRounds && repeatable.Count > 0 && quiet < settings.SettleQuietRounds; round++)
        {
            if (round > 1 && Stopwatch.GetElapsedTime(started) >= budget)
            {
                spent = true;
                break;
            }

            foreach (var step in repeatable.ToList())
            {
                if (!await RunStepAsync($"{step.Name} (round {round})", t => step.RepeatAsync(settings.SettlePasses, t), cancellationToken, noteTime: false).ConfigureAwait(false))
                {
                    repeatable.Remove(step);
                }
            }

            // Call counting starts only after a quiet spell, and the optimised code is compiled in the background.
            await Task.Delay(settings.EffectiveSettlePause, cancellationToken).ConfigureAwait(false);
            await DrainAsync(cancellationToken).ConfigureAwait(false);
            var now = JitInfo.GetCompiledMethodCount();
            counts.Add(now - compiled);
            // One quiet round can be a lull (the runtime holds back its recompilation while other code is still being
            // compiled for the first time); settled takes consecutive ones.
            quiet = now - compiled < settings.SettleQuietMethods ? quiet + 1 : 0;
            compiled = now;
        }

        var settled = quiet >= settings.SettleQuietRounds ? "settled" : "not settled";
        Note($"{settled} after {counts.Count} {(counts.Count == 1 ? "round" : "rounds")} of {settings.SettlePasses} passes in " +
            $"{Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms (methods compiled per round: {string.Join(' ', counts)})" +
            (spent ? $"; Warmup:SettleBudget ({budget.TotalSeconds:0.###} s) spent" : ""));
    }

    /// <summary>Waits until a <see cref="DrainPoll"/> passes without a method compiled, at most <see cref="MaxDrain"/>:
    /// on a busy machine the background compiler is still working through what a round made hot when the pause ends,
    /// and what it has not compiled by SERVING is compiled during the first calls (measured: three services warming at
    /// once on two cores compiled 700-2,000 methods a round for 4-6 rounds).</summary>
    private static async Task DrainAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var last = JitInfo.GetCompiledMethodCount();
        while (Stopwatch.GetElapsedTime(started) < MaxDrain)
        {
            await Task.Delay(DrainPoll, cancellationToken).ConfigureAwait(false);
            var now = JitInfo.GetCompiledMethodCount();
            if (now == last)
            {
                return;
            }

            last = now;
        }
    }

    /// <summary>Runs one step (or one round of it); false if it failed. Notes its time in the summary (a round's only
    /// when it failed: the rounds are summed up as a whole).</summary>
    private async Task<bool> RunStepAsync(string name, Func<CancellationToken, Task> run, CancellationToken cancellationToken, bool noteTime = true)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _current = name;
        var started = Stopwatch.GetTimestamp();
        try
        {
            await run(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            WarmupLog.StepFailed(logger, name, elapsed, e);
            Note($"{name} failed after {elapsed:0} ms");
            return false;
        }

        if (noteTime)
        {
            Note($"{name} {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0} ms");
        }

        return true;
    }

    private void Note(string text)
    {
        lock (_done)
        {
            _done.Append(_done.Length == 0 ? "" : ", ").Append(text);
        }
    }

    private string Summary()
    {
        lock (_done)
        {
            return _done.Length == 0 ? "no steps" : _done.ToString();
        }
    }
}
