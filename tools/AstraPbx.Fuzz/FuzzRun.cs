using System.Collections.Concurrent;
using System.Diagnostics;
using AstraPbx.Fuzz.Relay;
using AstraPbx.Fuzz.Running;
using AstraPbx.Fuzz.Targets;

namespace AstraPbx.Fuzz;

/// <summary>One run of the tool: the chosen in-process targets one after another, each with its share of the time left,
/// while (unless <c>--no-relay</c>) a real relay carries a parallel call and takes fuzz input over its sockets; then
/// the report. Exit code 0 only with no crash and the parallel call unaffected.</summary>
internal sealed class FuzzRun(FuzzOptions options)
{
    private readonly ConcurrentQueue<string> _unobserved = new();

    public static IReadOnlyList<FuzzTarget> Targets(string name) =>
        new FuzzTarget[] { new AdmissionTarget(), new CallerTarget(), new GatewayTarget() }.Where(t => name == "all" || t.Name == name).ToList();

    public async Task<int> RunAsync()
    {
        var targets = Targets(options.Target);
        if (options.Replay is { } index)
        {
            var (input, outcome) = FuzzRunner.Replay(targets[0], options.Seed, index);
            Console.WriteLine($"{targets[0].Name} input {index} of seed {options.Seed}:\n{input}\n-> {outcome}");
            return outcome.StartsWith("CRASH", StringComparison.Ordinal) ? 1 : 0;
        }

        // A fire-and-forget task of the code under test that failed is a crash too (the relay would only log it).
        TaskScheduler.UnobservedTaskException += (_, e) => _unobserved.Enqueue(e.Exception.ToString());
        var time = TimeSpan.FromSeconds(options.Seconds);
        var started = Stopwatch.GetTimestamp();
        Console.WriteLine($"fuzz: seed {options.Seed}, {options.Inputs:N0} inputs per target, {options.Threads} threads, at most {options.Seconds} s");

        await using var relay = options.Relay ? await RelayFuzzRun.StartAsync(options.RabbitMq, options.RelaySessions, options.Seed).ConfigureAwait(false) : null;
        var results = new List<FuzzResult>();
        for (var i = 0; i < targets.Count; i++)
        {
            // Each target gets an equal share of the time left (less a margin for the relay's report).
            var left = time - Stopwatch.GetElapsedTime(started) - TimeSpan.FromSeconds(options.Relay ? 20 : 0);
            var share = left / (targets.Count - i);
            var settings = new FuzzRunSettings(options.Inputs, share < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : share, options.Seed,
                options.Threads, TimeSpan.FromSeconds(options.InputTimeoutSeconds), ShrinkTime: TimeSpan.FromSeconds(30));
            var result = await Task.Run(() => FuzzRunner.Run(targets[i], settings)).ConfigureAwait(false);
            FuzzReport.PrintTarget(result);
            results.Add(result);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var relayResult = relay is null ? null : await relay.StopAsync().ConfigureAwait(false);
        var ok = FuzzReport.Print(results, relayResult, _unobserved, options, Stopwatch.GetElapsedTime(started));
        return ok ? 0 : 1;
    }
}
