using System.Diagnostics;
using AstraPbx.LocalRun;
using AstraPbx.Simulators.Ari;
using AstraPbx.Simulators.Gateway;

namespace AstraPbx.Demo;

/// <summary>Starts everything, places the seed's call, prints what happens, stops everything.</summary>
internal static class DemoRun
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    private static void Say(string line) => Console.WriteLine($"[{Clock.Elapsed.TotalSeconds,7:0.000}s] {line}");

    public static async Task<int> RunAsync(string[] args, CancellationToken stop)
    {
        var rabbit = Environment.GetEnvironmentVariable("ASTRAPBX_RABBITMQ");
        var postgres = Environment.GetEnvironmentVariable("ASTRAPBX_POSTGRES");
        if (string.IsNullOrEmpty(rabbit) || string.IsNullOrEmpty(postgres))
        {
            Console.Error.WriteLine("demo: ASTRAPBX_RABBITMQ and ASTRAPBX_POSTGRES are not set; run it as scripts/demo");
            return 2;
        }

        var bench = args.Length > 0 && args[0] == "bench-setup";
        var rates = bench && args.Length > 1 ? args[1].Split(',').Select(r => int.Parse(r, System.Globalization.CultureInfo.InvariantCulture)).ToArray() : [1, 20, 100];
        var benchSeconds = bench && args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
        if (rates.Any(r => r is < 1 or > 200) || benchSeconds is < 1 or > 60)
        {
            Console.Error.WriteLine("demo: bench-setup takes rates of 1-200 calls/s and 1-60 seconds");
            return 2;
        }

        var talkSeconds = !bench && args.Length > 0 && int.TryParse(args[0], out var seconds) ? seconds : 5;
        var otlp = Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT");
        var database = await DemoDatabase.CreateAsync(postgres).ConfigureAwait(false);
        try
        {
            Say("starting AstraPbx: Routing, AriIngress, MediaRelay, the Asterisk simulator and the demo bot");
            await using var deployment = await LocalDeployment.StartAsync(new LocalDeploymentOptions
            {
                RabbitMq = rabbit,
                Postgres = database.ConnectionString,
                Gateway = new FakeGatewayOptions { Behavior = bench ? GatewayBehavior.Echo : GatewayBehavior.DemoBot },
                OtlpEndpoint = string.IsNullOrEmpty(otlp) ? null : otlp,
                Log = Say,
            }).WaitAsync(stop).ConfigureAwait(false);

            try
            {
                if (bench)
                {
                    await SetupBenchmark.RunAsync(deployment, rates, benchSeconds, Say, stop).ConfigureAwait(false);
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
        finally
        {
            await database.DropAsync().ConfigureAwait(false);
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
        Say($"relay ready; the ingress set AUDIOSOCKET_UUID={call.Variables.GetValueOrDefault("AUDIOSOCKET_UUID")} " +
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
