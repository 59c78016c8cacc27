using System.Diagnostics;
using AstraPbx.LocalRun;
using AstraPbx.LocalRun.Faults;

namespace AstraPbx.FaultRun;

/// <summary>Starts the rig, runs the chosen faults one after the other, prints the table, brings everything down.</summary>
internal static class FaultRunProgram
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    private static void Say(string line) => Console.Error.WriteLine($"[{Clock.Elapsed.TotalSeconds,7:0.0}s] {line}");

    public static async Task<int> RunAsync(FaultRunOptions options, string[] args, CancellationToken stop)
    {
        var command = $"dotnet {Path.GetRelativePath(RepoPaths.Root, typeof(FaultRunProgram).Assembly.Location)} {string.Join(' ', args)}";
        var logs = options.LogFolder ?? Path.Combine(RepoPaths.Root, ".infra", "fault-run-logs");
        Say("starting a private broker and database, then the product on them");
        FaultRig rig;
        try
        {
            rig = await FaultRig.StartAsync(new FaultRigOptions
            {
                EdgeFallbackAfter = Seconds(options.EdgeFallbackAfterSeconds),
                StartSessionTimeout = Seconds(options.StartSessionTimeoutSeconds),
                Log = Say,
            }, stop).WaitAsync(TimeSpan.FromMinutes(6), stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Say("interrupted while starting");
            return 130;
        }

        var reports = new List<FaultReport>();
        var complete = true;
        try
        {
            foreach (var scenario in options.Scenarios.TakeWhile(_ => !stop.IsCancellationRequested))
            {
                Say($"fault '{scenario.Name}': {scenario.Title}, {options.Calls} calls");
                var report = await FaultRunner.RunAsync(rig, scenario, options.Calls, TimeSpan.FromSeconds(options.ScenarioTimeoutSeconds),
                    TimeSpan.FromSeconds(options.SettleSeconds), stop).ConfigureAwait(false);
                reports.Add(report);
                Say(report.Details());
            }
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            // The rig could not be put back together after a fault: the faults after it would measure a broken deployment.
            Say("stopping: the deployment did not recover: " + e.Message.Split('\n')[0]);
            complete = false;
        }
        finally
        {
            Say($"writing every process's output to {logs}; stopping everything the runner started");
            await rig.WriteLogsAsync(logs, "faultrun").ConfigureAwait(false);
            await rig.DisposeAsync().ConfigureAwait(false);
        }

        Console.WriteLine(FaultTable.Render(reports, command));
        return stop.IsCancellationRequested ? 130
            : complete && reports.All(r => r.Stranded == 0 && r.Lost == 0 && !r.Aborted) ? 0
            : 1;
    }

    private static TimeSpan? Seconds(double? value) => value is { } s ? TimeSpan.FromSeconds(s) : null;
}
