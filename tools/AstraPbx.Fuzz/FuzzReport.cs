using AstraPbx.Fuzz.Relay;
using AstraPbx.Fuzz.Running;

namespace AstraPbx.Fuzz;

/// <summary>The tool's output: a line per target as it finishes, then the table for docs/benchmarks.md and each crash
/// with the command that replays it.</summary>
internal static class FuzzReport
{
    public static void PrintTarget(FuzzResult result)
    {
        Console.WriteLine($"{result.Target}: {result.Inputs:N0} inputs in {result.Elapsed.TotalSeconds:0.0} s " +
            $"({result.Inputs / Math.Max(0.001, result.Elapsed.TotalSeconds):N0}/s), {result.Crashes.Count} crashes");
        foreach (var (outcome, count) in result.Outcomes.OrderByDescending(o => o.Value))
        {
            Console.WriteLine($"    {count,10:N0}  {outcome}");
        }
    }

    /// <summary>Prints the summary; returns true when nothing crashed and the parallel call was unaffected.</summary>
    public static bool Print(IReadOnlyList<FuzzResult> results, RelayFuzzResult? relay, IEnumerable<string> unobserved, FuzzOptions options, TimeSpan elapsed)
    {
        var ok = true;
        Console.WriteLine();
        Console.WriteLine($"| target | inputs | time | crashes |");
        Console.WriteLine($"|---|---:|---:|---:|");
        foreach (var result in results)
        {
            Console.WriteLine($"| {result.Target} (in process) | {result.Inputs:N0} | {result.Elapsed.TotalSeconds:0} s | {result.Crashes.Count} |");
            ok &= result.Crashes.Count == 0;
        }

        if (relay is not null)
        {
            Console.WriteLine($"| real relay, AudioSocket connections | {relay.Connections:N0} | {relay.Elapsed.TotalSeconds:0} s | {relay.ConnectionCrashes} |");
            Console.WriteLine($"| real relay, fuzz bot sessions ({relay.BotMessages:N0} messages) | {relay.Sessions:N0} | {relay.Elapsed.TotalSeconds:0} s | {relay.SessionCrashes} |");
            ok &= relay.ConnectionCrashes == 0 && relay.SessionCrashes == 0 && relay.Call.Unaffected;
        }

        var total = results.Sum(r => r.Inputs) + (relay is null ? 0 : relay.Connections + relay.BotMessages);
        Console.WriteLine($"total: {total:N0} inputs in {elapsed.TotalSeconds:0} s, seed {options.Seed}");
        if (relay is not null)
        {
            Console.WriteLine("relay session ends: " + string.Join(", ", relay.Reasons.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {r.Value}")));
            Console.WriteLine("relay refusals: " + string.Join(", ", relay.Refusals.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {r.Value}")));
            Console.WriteLine("parallel call: " + relay.Call);
            foreach (var failure in relay.Failures)
            {
                Console.WriteLine("relay crash: " + failure);
            }

            foreach (var finding in relay.Findings)
            {
                Console.WriteLine("relay finding (not a crash): " + finding);
            }
        }

        foreach (var text in unobserved)
        {
            ok = false;
            Console.WriteLine("unobserved task exception (a crash): " + text);
        }

        foreach (var result in results)
        {
            foreach (var crash in result.Crashes)
            {
                Console.WriteLine($"\nCRASH in {result.Target}, input {crash.Index} ({crash.Kind}); replay: --target {result.Target} --seed {result.Seed} --replay {crash.Index} (CsCheck seed {crash.Seed})");
                Console.WriteLine("input: " + crash.Input);
                Console.WriteLine(crash.Detail);
                if (crash.Shrunk is not null)
                {
                    Console.WriteLine("shrunk by CsCheck: " + crash.Shrunk);
                }
            }
        }

        Console.WriteLine(ok ? "result: 0 crashes" : "result: FAILED");
        return ok;
    }
}
