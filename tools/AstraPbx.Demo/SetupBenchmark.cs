using System.Collections.Concurrent;
using System.Diagnostics;
using AstraPbx.LocalRun;
using AstraPbx.Simulators.Ari;
using AstraPbx.Simulators.Gateway;

namespace AstraPbx.Demo;

/// <summary><c>scripts/demo bench-setup [rates] [seconds]</c>: call setup time through the whole product at a given
/// rate of new calls: StasisStart -> first caller frame at the bot, and -> first bot frame at the caller. The echo bot
/// answers the caller's first frame, so the second figure is the first full round trip. The gateway connect time
/// (relay -> bot WebSocket and handshake) is reported on its own. Bounded: rate x seconds calls per rate, each hung
/// up as soon as it is measured or after 30 s.</summary>
internal static class SetupBenchmark
{
    public static async Task RunAsync(LocalDeployment deployment, int[] rates, int seconds, Action<string> say, CancellationToken stop)
    {
        var botId = await deployment.IdOfAsync("users", "1003").ConfigureAwait(false);
        var sessions = new ConcurrentDictionary<string, TaskCompletionSource<GatewaySession>>();
        using var collecting = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var collector = Task.Run(async () =>
        {
            while (!collecting.IsCancellationRequested)
            {
                GatewaySession session;
                try
                {
                    session = await deployment.Gateway.NextSession(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    continue;
                }

                sessions.GetOrAdd(session.CallSid ?? "", _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(session);
            }
        }, CancellationToken.None);

        // One call first so that JIT and connection set-up are not counted.
        await MeasureCallAsync(deployment, botId, sessions, stop).ConfigureAwait(false);
        foreach (var rate in rates)
        {
            var count = rate * seconds;
            var interval = TimeSpan.FromSeconds(1.0 / rate);
            var cpuBefore = deployment.Services.Select(ServiceCpu).ToList();
            var started = Stopwatch.GetTimestamp();
            var calls = new List<Task<Measurement?>>(count);
            for (var i = 0; i < count; i++)
            {
                var due = TimeSpan.FromTicks(interval.Ticks * i) - Stopwatch.GetElapsedTime(started);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, stop).ConfigureAwait(false);
                }

                calls.Add(MeasureCallAsync(deployment, botId, sessions, stop));
            }

            var results = await Task.WhenAll(calls).ConfigureAwait(false);
            var cpu = deployment.Services.Zip(cpuBefore, (service, before) => $"{service.Name} {(ServiceCpu(service).Seconds - before.Seconds) * 1000 / count:0.0}");
            var done = results.Where(r => r is not null).Select(r => r!).ToList();
            var connect = new List<double>();
            var traceIds = new List<string>();
            foreach (var m in done)
            {
                if (await deployment.CallRecordAsync(m.CallId).ConfigureAwait(false) is not { } record)
                {
                    continue;
                }

                if (record["gateway_connect_ms"] is double ms)
                {
                    connect.Add(ms);
                }

                if (record["trace_id"] is string traceId && traceId.Length > 0)
                {
                    traceIds.Add(traceId);
                }
            }

            say($"rate {rate}/s: {done.Count}/{count} calls measured; " +
                $"StasisStart -> relay ready (continued to AudioSocket) p50 {P(done.Select(m => m.ToReadyMs), 50):0.0} ms p99 {P(done.Select(m => m.ToReadyMs), 99):0.0} ms; " +
                $"-> first caller frame at the bot p50 {P(done.Select(m => m.ToBotMs), 50):0.0} ms p99 {P(done.Select(m => m.ToBotMs), 99):0.0} ms; " +
                $"-> first bot frame at the caller p50 {P(done.Select(m => m.ToCallerMs), 50):0.0} ms p99 {P(done.Select(m => m.ToCallerMs), 99):0.0} ms; " +
                $"gateway connect p50 {P(connect, 50):0.0} ms p99 {P(connect, 99):0.0} ms");
            say($"CPU per call (ms of user+system time over the run, each call's setup, media and hangup): {string.Join(", ", cpu)}");
            await HopBreakdown.ReportAsync(deployment, traceIds, say, stop).ConfigureAwait(false);
        }

        await collecting.CancelAsync().ConfigureAwait(false);
        await collector.ConfigureAwait(false);
    }

    private sealed record Measurement(string CallId, double ToReadyMs, double ToBotMs, double ToCallerMs);

    private static async Task<Measurement?> MeasureCallAsync(
        LocalDeployment deployment, int botId, ConcurrentDictionary<string, TaskCompletionSource<GatewaySession>> sessions, CancellationToken stop)
    {
        var patience = TimeSpan.FromSeconds(30);
        var t0 = Stopwatch.GetTimestamp();
        var call = await deployment.Asterisk.StartCallAsync(new SimulatedCallOptions
        {
            StasisArgs = $"ai_agent,{botId}",
            Extension = "1003",
            Context = deployment.InternalContext,
            Variables = new Dictionary<string, string> { ["ORG_ID"] = deployment.OrgId },
        }).ConfigureAwait(false);
        try
        {
            await call.Continued.WaitAsync(patience, stop).ConfigureAwait(false);
            var toReady = (call.ContinuedTimestamp - call.StasisStartSentTimestamp) * 1000.0 / Stopwatch.Frequency;
            var caller = await call.AudioSocketDialled.WaitAsync(patience, stop).ConfigureAwait(false);
            var callerStart = Stopwatch.GetTimestamp() - (long)(caller.Elapsed.TotalSeconds * Stopwatch.Frequency);
            var bot = await sessions.GetOrAdd(call.ChannelId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task
                .WaitAsync(patience, stop).ConfigureAwait(false);
            await bot.FirstAudio.WaitAsync(patience, stop).ConfigureAwait(false);
            var toBot = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;

            var deadline = DateTime.UtcNow + patience;
            ReceivedFrameTime? first = null;
            while (first is null && DateTime.UtcNow < deadline)
            {
                foreach (var frame in caller.Received)
                {
                    if (frame.Payload.AsSpan().ContainsAnyExcept((byte)0))
                    {
                        first = new ReceivedFrameTime(frame.At);
                        break;
                    }
                }

                if (first is null)
                {
                    await Task.Delay(5, stop).ConfigureAwait(false);
                }
            }

            if (first is null)
            {
                return null;
            }

            var firstAt = callerStart + (long)(first.At.TotalSeconds * Stopwatch.Frequency);
            var toCaller = (firstAt - t0) * 1000.0 / Stopwatch.Frequency;
            return new Measurement(call.ChannelId, toReady, toBot, toCaller);
        }
        catch (TimeoutException)
        {
            return null;
        }
        finally
        {
            await call.HangUpAsync().ConfigureAwait(false);
        }
    }

    private sealed record ReceivedFrameTime(TimeSpan At);

    /// <summary>User + system CPU seconds of the service's process so far (<c>/proc/&lt;pid&gt;/stat</c>, Linux only).</summary>
    private static (string Name, double Seconds) ServiceCpu(DeployedService service)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{service.Process.Pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the command name.
            var ticks = long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            return (service.Name, ticks / 100.0);
        }
        catch (IOException)
        {
            return (service.Name, double.NaN);
        }
    }

    internal static double P(IEnumerable<double> values, int percentile)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var index = (int)Math.Ceiling(percentile / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}
