namespace AstraPbx.LocalRun.Faults;

/// <summary>Runs one scenario on a rig within a hard time limit, judges its calls, and puts the rig back together for
/// the next one.</summary>
public static class FaultRunner
{
    /// <summary>How long an abandoned scenario gets to finish restoring what it broke (its own steps are bounded).</summary>
    private static readonly TimeSpan RestorePatience = TimeSpan.FromMinutes(4);

    /// <param name="rig">The deployment and infrastructure to break.</param>
    /// <param name="scenario">What to break.</param>
    /// <param name="calls">Calls to place around the fault.</param>
    /// <param name="timeout">Hard limit for the scenario, its windows and its settling; past it the calls are hung up
    /// and judged as they are, and the report says TIMED OUT.</param>
    /// <param name="settle">How long to wait, after the last hangup, for every record to hold its decision and hangup.</param>
    /// <param name="stop">Stops the run (Ctrl-C): the scenario is abandoned as on a timeout, and the rig recovered.</param>
    public static async Task<FaultReport> RunAsync(FaultRig rig, FaultScenario scenario, int calls, TimeSpan timeout, TimeSpan settle, CancellationToken stop = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stop);
        limit.CancelAfter(timeout);
        var session = new FaultSession(rig, limit.Token);
        var run = scenario.RunAsync(session, calls);
        FaultReport report;
        try
        {
            await run.WaitAsync(limit.Token).ConfigureAwait(false);
            report = await session.FinishAsync(scenario, settle, aborted: false).WaitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (limit.IsCancellationRequested || e is not OperationCanceledException)
        {
            session.Note(stop.IsCancellationRequested ? "stopped" : limit.IsCancellationRequested ? $"hard timeout of {timeout.TotalSeconds:0} s hit" : "");
            try
            {
                // The scenario's finally blocks restore what it broke: let them end before anything else touches the rig.
                await run.WaitAsync(RestorePatience, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Already reported below (or a consequence of the cancellation).
            }

            report = await session.FinishAsync(scenario, TimeSpan.Zero, aborted: true).ConfigureAwait(false);
            if (e is not OperationCanceledException)
            {
                report = report with { Error = $"{e.GetType().Name}: {e.Message}" };
            }
        }

        await rig.RecoverAsync().ConfigureAwait(false);
        return report;
    }
}
