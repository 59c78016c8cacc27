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
        HopTimes(byTrace, say);
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

    /// <summary>The setup path as consecutive hops, each from where the one before ended to the span that ends it (the
    /// first span of that name in the call's trace; a hop into a consumer ends where the consume starts, and can be
    /// negative when the publisher's confirm came after the delivery): the time each hop takes, p50 / p99 / max over the
    /// calls, and its mean over the slowest 5 % of calls (by relay ready), which is where the p99 goes.</summary>
    private static readonly (string Hop, string Service, string Span, bool AtEnd)[] Path =
    [
        ("ingress: answer, read variables", "AriIngress", "ari get-variable", true),
        ("ingress: publish CallEnteredStasis", "AriIngress", "AstraPbx.Contracts.Calls:CallEnteredStasis send", true),
        ("broker -> Routing consume", "Routing", "call-entered-stasis receive", false),
        ("Routing: claim, resolve, send StartAiSession", "Routing", "AstraPbx.Contracts.Media:StartAiSession send", true),
        ("broker -> relay consume", "MediaRelay", "start-ai-session receive", false),
        ("relay: prepare (bot connect), reply", "MediaRelay", "bus send", true),
        ("broker -> Routing reply", "Routing", "bus receive", false),
        ("Routing: decision write, send ConnectToRelay", "Routing", "ari-ingress-", true),
        ("broker -> ingress consume", "AriIngress", "ari-ingress-", false),
        ("ingress: set variables, continue", "AriIngress", "ari continue", true),
    ];

    private static void HopTimes(IEnumerable<IGrouping<string, ReceivedSpan>> byTrace, Action<string> say)
    {
        var rows = new List<(double Ready, double[] Hops)>();
        foreach (var trace in byTrace)
        {
            var spans = trace.OrderBy(s => s.Start).ThenBy(s => s.End).ToList();
            var root = spans.FirstOrDefault(s => s.Name == RootSpan && s.Service.Contains("AriIngress", StringComparison.Ordinal));
            if (root is null)
            {
                continue;
            }

            var hops = new double[Path.Length];
            var at = root.Start;
            var complete = true;
            for (var i = 0; i < Path.Length && complete; i++)
            {
                var (_, service, name, atEnd) = Path[i];
                // The command's queue is named after the ingress instance: Routing's span of it is the send, the ingress's the receive.
                var span = spans.FirstOrDefault(s => s.Service.Contains(service, StringComparison.Ordinal) && s.Name.StartsWith(name, StringComparison.Ordinal)
                    && (name != "ari-ingress-" || s.Name.EndsWith(service == "Routing" ? " send" : " receive", StringComparison.Ordinal)));
                if (span is null)
                {
                    complete = false;
                    break;
                }

                var mark = atEnd ? span.End : span.Start;
                hops[i] = (mark - at).TotalMilliseconds;
                at = mark;
            }

            if (complete)
            {
                rows.Add(((at - root.Start).TotalMilliseconds, hops));
            }
        }

        if (rows.Count == 0)
        {
            return;
        }

        var slow = rows.OrderByDescending(r => r.Ready).Take(Math.Max(1, rows.Count / 20)).ToList();
        say($"hop times over {rows.Count} calls (ms: p50 / p99 / max / mean over the slowest {slow.Count} calls, relay ready {SetupBenchmark.P(slow.Select(r => r.Ready), 0):0}-{slow[0].Ready:0} ms):");
        for (var i = 0; i < Path.Length; i++)
        {
            var values = rows.Select(r => r.Hops[i]).ToList();
            Console.WriteLine($"           {SetupBenchmark.P(values, 50),6:0.0} {SetupBenchmark.P(values, 99),6:0.0} {values.Max(),6:0.0} {slow.Average(r => r.Hops[i]),6:0.0}  {Path[i].Hop}");
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
