using System.Diagnostics;
using AstraPbx.LocalRun;
using AstraPbx.LocalRun.Infrastructure;
using AstraPbx.Simulators.Ari;
using AstraPbx.Simulators.Gateway;

namespace AstraPbx.Demo;

/// <summary>Starts everything, places the seed's call, prints what happens, stops everything.</summary>
internal static class DemoRun
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    private static void Say(string line) => Console.WriteLine($"[{Clock.Elapsed.TotalSeconds,7:0.000}s] {line}");

    /// <summary>Places the seed's call and lets it talk <paramref name="talkSeconds"/>; or, with
    /// <paramref name="benchRates"/>, measures call setup at each rate for <paramref name="benchSeconds"/>.</summary>
    public static async Task<int> RunAsync(int talkSeconds, int[]? benchRates, int benchSeconds, CancellationToken stop)
    {
        var rabbit = LocalEnvironment.Get(LocalEnvironment.RabbitMqVariable);
        var postgres = LocalEnvironment.Get(LocalEnvironment.PostgresVariable);
        if (rabbit is null || postgres is null)
        {
            Console.Error.WriteLine("demo: ASTRAPBX_RABBITMQ and ASTRAPBX_POSTGRES are not set; run it as scripts/demo");
            return 2;
        }

        var bench = benchRates is not null;
        var otlp = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT");
        // A fresh database for this run, dropped at the end, so the demo never touches other data.
        await using var server = new PostgresServer(postgres);
        var database = await server.CreateDatabaseAsync("astrapbx_demo").ConfigureAwait(false);
        try
        {
            Say("starting AstraPbx: Routing, AriIngress, MediaRelay, the Asterisk simulator and the demo bot");
            await using var deployment = await LocalDeployment.StartAsync(new LocalDeploymentOptions
            {
                RabbitMq = rabbit,
                Postgres = database,
                Gateway = new FakeGatewayOptions { Behavior = bench ? GatewayBehavior.Echo : GatewayBehavior.DemoBot },
                OtlpEndpoint = string.IsNullOrEmpty(otlp) ? null : otlp,
                // The demo's one call is the first on services that just started (JIT everywhere): on a busy 2-core
                // machine it can take more than the shipped 2.5 s edge deadline, and the demo would show the reception
                // fallback instead of the bot (docs/reliability.md, "Cold start").
                EdgeFallbackAfter = TimeSpan.FromSeconds(10),
                Log = Say,
            }).WaitAsync(stop).ConfigureAwait(false);

            // What each service's warm-up did before it reported SERVING (event 9201, or a failed or cut step).
            foreach (var service in deployment.Services)
            {
                foreach (var line in service.OutputText().Split('\n'))
                {
                    if (line.Contains("Warm-up", StringComparison.Ordinal))
                    {
                        Say($"{service.Name}: {line.Trim()}");
                    }
                }
            }

            try
            {
                if (bench)
                {
                    await SetupBenchmark.RunAsync(deployment, benchRates!, benchSeconds, Say, stop).ConfigureAwait(false);
                    return 0;
                }

                await PlaceSeedCallAsync(deployment, talkSeconds, stop).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Console.WriteLine("---- what the services printed ----");
                Console.WriteLine(deployment.AllOutput());
                throw;
            }

            Say("stopping everything the demo started");
            if (Environment.GetEnvironmentVariable("ASTRAPBX_DEMO_SERVICE_LOG") is { Length: > 0 } servicesLog)
            {
                // What the services printed, for a look at a run that worked (a failed one prints it anyway).
                await File.WriteAllTextAsync(servicesLog, deployment.AllOutput(), CancellationToken.None).ConfigureAwait(false);
            }

            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Say("interrupted; stopping everything the demo started");
            return 130;
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            Say("demo failed: " + e.Message);
            return 1;
        }
    }

    private static async Task PlaceSeedCallAsync(LocalDeployment deployment, int talkSeconds, CancellationToken stop)
    {
        var patience = TimeSpan.FromSeconds(30);
        var queueId = await deployment.IdOfAsync("queues", "5001").ConfigureAwait(false);
        Say($"caller 08065978002 dials 5001 (queue 'reception': 1001 then 1002, 15 s each); nobody answers, the queue times out");
        var call = await deployment.Asterisk.StartCallAsync(new SimulatedCallOptions
        {
            StasisArgs = $"queue_timeout,{queueId}",
            CallerNumber = "08065978002",
            CallerName = "Demo Caller",
            Extension = "5001",
            Context = deployment.InternalContext,
            Variables = new Dictionary<string, string> { ["ORG_ID"] = deployment.OrgId },
        }).ConfigureAwait(false);
        Say($"call {call.ChannelId} entered Stasis(astrapbx,queue_timeout,{queueId})");

        await call.Answered.WaitAsync(patience, stop).ConfigureAwait(false);
        Say($"answered by the ingress ({call.TimeToAnswer?.TotalMilliseconds:0.0} ms after StasisStart)");

        var routed = await WaitForRecordAsync(deployment, call.ChannelId, r => r["outcome"] is not null, patience, stop).ConfigureAwait(false);
        var path = routed["route_path"] is string[] steps ? string.Join(" -> ", steps) : "";
        Say($"routed: {path} => {routed["outcome"]} ({routed["route_reason"]}), destination {routed["destination"]}");

        var target = await call.Continued.WaitAsync(patience, stop).ConfigureAwait(false);
        var ready = Stopwatch.GetElapsedTime(call.StasisStartSentTimestamp, call.ContinuedTimestamp).TotalMilliseconds;
        Say($"relay ready {ready:0} ms after StasisStart; the ingress set AUDIOSOCKET_UUID={call.Variables.GetValueOrDefault("AUDIOSOCKET_UUID")} " +
            $"AUDIOSOCKET_SERVICE={call.Variables.GetValueOrDefault("AUDIOSOCKET_SERVICE")} and continued to {target.Context},{target.Extension},{target.Priority}");
        var caller = await call.AudioSocketDialled.WaitAsync(patience, stop).ConfigureAwait(false);
        var bot = await deployment.Gateway.NextSession(patience).WaitAsync(stop).ConfigureAwait(false);
        Say($"Asterisk dialled the relay over AudioSocket; the bot got the handshake ({bot.Mode}, streamSid {bot.StreamSid})");

        for (var second = 1; second <= talkSeconds; second++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
            Say($"audio flowing: caller -> bot {bot.AudioFramesReceived} frames, bot -> caller {caller.Received.Count} frames");
        }

        Say("the caller hangs up");
        await call.HangUpAsync().ConfigureAwait(false);
        var ended = await call.Ended.WaitAsync(patience, stop).ConfigureAwait(false);
        Say($"channel destroyed ({ended})");

        var record = await WaitForRecordAsync(deployment, call.ChannelId,
            r => r["ended_at"] is not null && r["ai_ended_at"] is not null, patience, stop).ConfigureAwait(false);
        Say($"call record: {record["call_duration_ms"]:0} ms, AI session ended by {record["ai_ended_by"]} ({record["ai_end_reason"]}), " +
            $"frames to bot {record["frames_to_gateway"]}, to caller {record["frames_to_caller"]}, underruns {record["underruns"]}, " +
            $"hangup cause {record["hangup_cause"]} {record["hangup_cause_text"]}");

        var traceId = record["trace_id"] as string ?? "";
        Say($"trace id {traceId}");
        if (deployment.Traces is { } traces)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (DateTime.UtcNow < deadline && !traces.Spans.Any(s => s.TraceId == traceId && s.Service.Contains("MediaRelay", StringComparison.Ordinal)))
            {
                await Task.Delay(200, stop).ConfigureAwait(false);
            }

            var spans = traces.Spans.Where(s => s.TraceId == traceId).OrderBy(s => s.Start).ToList();
            Say($"{spans.Count} spans in this call's trace, from {string.Join(", ", spans.Select(s => s.Service).Distinct())}:");
            foreach (var span in spans.Take(40))
            {
                Console.WriteLine($"           {span.Start:HH:mm:ss.fff} {span.Service,-20} {span.Name}");
            }

            // Where the first call's setup went, hop by hop (the same table as bench-setup's, over this one call).
            await HopBreakdown.ReportAsync(deployment, [traceId], Say, stop).ConfigureAwait(false);
        }
        else
        {
            Say($"open the trace in Jaeger: http://localhost:16686/trace/{traceId}");
        }
    }

    private static async Task<IReadOnlyDictionary<string, object?>> WaitForRecordAsync(
        LocalDeployment deployment, string callId, Func<IReadOnlyDictionary<string, object?>, bool> done, TimeSpan timeout, CancellationToken stop)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var record = await deployment.CallRecordAsync(callId).ConfigureAwait(false);
            if (record is not null && done(record))
            {
                return record;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the call record of {callId} did not get there within {timeout.TotalSeconds:0} s");
            }

            await Task.Delay(100, stop).ConfigureAwait(false);
        }
    }
}
