using AstraPbx.LocalRun;

namespace AstraPbx.Demo;

/// <summary>Where call setup goes, hop by hop, from the services' own spans (OTLP to the deployment's receiver): for
/// each span of the measured calls' traces, its start and end relative to the ingress's <c>call</c> span (StasisStart
/// received), as medians and p99 over the calls. A span name that repeats in one trace is numbered (<c>#2</c>).
/// Span times arrive with millisecond precision.</summary>
internal static class HopBreakdown
{
    private const string RootSpan = "call";

    public static async Task ReportAsync(LocalDeployment deployment, IReadOnlyCollection<string> traceIds, Action<string> say, CancellationToken stop)
    {
        if (deployment.Traces is not { } traces || traceIds.Count == 0)
        {
            return;
        }

        // The services export in batches: wait until the relay's span of (nearly) every call is in, at most 10 s.
        var wanted = new HashSet<string>(traceIds, StringComparer.Ordinal);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var withRelay = traces.Spans.Where(s => wanted.Contains(s.TraceId) && s.Service.Contains("MediaRelay", StringComparison.Ordinal))
                .Select(s => s.TraceId).Distinct().Count();
            if (withRelay >= wanted.Count)
            {
                break;
            }

            await Task.Delay(250, stop).ConfigureAwait(false);
        }

        var byTrace = traces.Spans.Where(s => wanted.Contains(s.TraceId)).GroupBy(s => s.TraceId);
        var starts = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var ends = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var calls = 0;
        foreach (var trace in byTrace)
        {
            var spans = trace.OrderBy(s => s.Start).ThenBy(s => s.End).ToList();
            var root = spans.FirstOrDefault(s => s.Name == RootSpan && s.Service.Contains("AriIngress", StringComparison.Ordinal));
            if (root is null)
            {
                continue;
            }

            calls++;
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var span in spans)
            {
                var name = $"{ShortService(span.Service)}: {span.Name}";
                var n = seen[name] = seen.GetValueOrDefault(name) + 1;
                var key = n == 1 ? name : $"{name} #{n}";
                Add(starts, key, (span.Start - root.Start).TotalMilliseconds);
                Add(ends, key, (span.End - root.Start).TotalMilliseconds);
            }
        }

        SlowestCalls(byTrace, say);
        say($"hop breakdown over {calls} traces (ms after StasisStart received by the ingress; start p50 / end p50 / end p99; calls with the span):");
        foreach (var (key, values) in starts.OrderBy(p => SetupBenchmark.P(p.Value, 50)).ThenBy(p => SetupBenchmark.P(ends[p.Key], 50)))
        {
            if (values.Count < calls / 2)
            {
                continue;
            }

            Console.WriteLine($"           {SetupBenchmark.P(values, 50),7:0} {SetupBenchmark.P(ends[key], 50),7:0} {SetupBenchmark.P(ends[key], 99),7:0}  {values.Count,4}  {key}");
        }
    }

    /// <summary>The p99 is the slowest few calls: for each of the slowest five (by the ingress's <c>ari continue</c>,
    /// relay ready), every span's start and end, so that the hop that made it slow shows.</summary>
    private static void SlowestCalls(IEnumerable<IGrouping<string, ReceivedSpan>> byTrace, Action<string> say)
    {
        var slowest = byTrace
            .Select(trace => (Spans: trace.OrderBy(s => s.Start).ThenBy(s => s.End).ToList(), Root: trace.FirstOrDefault(s => s.Name == RootSpan && s.Service.Contains("AriIngress", StringComparison.Ordinal))))
            .Where(t => t.Root is not null)
            .Select(t => (t.Spans, t.Root, Ready: t.Spans.Where(s => s.Name == "ari continue").Select(s => (s.End - t.Root!.Start).TotalMilliseconds).DefaultIfEmpty(double.NaN).Max()))
            .Where(t => !double.IsNaN(t.Ready))
            .OrderByDescending(t => t.Ready)
            .Take(5)
            .ToList();
        foreach (var (spans, root, ready) in slowest)
        {
            say($"slow call {root!.TraceId}: relay ready at {ready:0} ms after StasisStart received (span start / end ms):");
            foreach (var span in spans)
            {
                Console.WriteLine($"           {(span.Start - root.Start).TotalMilliseconds,7:0} {(span.End - root.Start).TotalMilliseconds,7:0}  {ShortService(span.Service)}: {span.Name}");
            }
        }
    }

    private static string ShortService(string service) => service.StartsWith("AstraPbx.", StringComparison.Ordinal) ? service["AstraPbx.".Length..] : service;

    private static void Add(Dictionary<string, List<double>> into, string key, double value)
    {
        if (!into.TryGetValue(key, out var list))
        {
            into[key] = list = [];
        }

        list.Add(value);
    }
}
