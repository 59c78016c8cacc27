using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using AstraPbx.Contracts;
using AstraPbx.Contracts.Media;
using AstraPbx.LocalRun;
using AstraPbx.LocalRun.Infrastructure;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using MassTransit;

namespace AstraPbx.LoadTool;

/// <summary>One load run: echo gateway up, relay (started or given), N sessions prepared over the broker exactly as
/// Routing does (StartAiSession request), N AudioSocket callers dialled and paced by one shared pacer, a measurement
/// window, then a report.</summary>
internal sealed class LoadRun(LoadOptions options)
{
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(1);

    private readonly LoadStats _stats = new();
    private (long Lost, double SpacingP1, double SpacingP99, double StrictP99, double IntendedP99) _summary;
    private readonly LoadWindow _window = new();
    private readonly ConcurrentBag<(AudioSocketCaller Caller, CallProbe Probe)> _calls = [];
    private readonly ConcurrentDictionary<string, int> _failures = new();
    private readonly ConcurrentDictionary<Guid, AiSessionEnded> _ended = new();
    private readonly HashSet<Guid> _ourSessions = [];

    public async Task<int> RunAsync()
    {
        // A relay the tool starts itself gets a private virtual host, so the run never meets another relay's queue.
        await using var broker = RabbitMqBroker.FromEnvironment(options.RabbitMq)
            ?? throw new InvalidOperationException("No broker: pass --rabbitmq, set ASTRAPBX_RABBITMQ, or run scripts/infra up (.infra/env).");
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo }).ConfigureAwait(false);
        var connectionString = broker.ConnectionString;
        RelayProcess? relay = null;
        if (options.StartRelay)
        {
            if (broker.CanCreateVirtualHosts)
            {
                connectionString = await broker.CreateVirtualHostAsync("loadtool").ConfigureAwait(false);
            }

            var dll = options.RelayDll ?? DefaultRelayDll();
            relay = RelayProcess.Start(dll, connectionString, Math.Max(1000, options.Calls + 100), options.JitterTargetMs, options.RelaySettings);
            Console.WriteLine($"relay started: pid {relay.Pid}, AudioSocket 127.0.0.1:{relay.AudioSocketPort}, log {relay.LogPath}");
        }

        var relayPid = relay?.Pid ?? options.RelayPid;
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            var amqp = RabbitMqAddress.Parse(connectionString);
            cfg.Host(amqp.Host, (ushort)amqp.Port, amqp.VirtualHost, h =>
            {
                h.Username(amqp.Username);
                h.Password(amqp.Password);
            });
            // The relay's own account of each session (late ticks, underruns), published when it ends.
            cfg.ReceiveEndpoint("loadtool-" + Guid.NewGuid().ToString("N"), e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<AiSessionEnded>(context =>
                {
                    _ended[context.Message.SessionId] = context.Message;
                    return Task.CompletedTask;
                });
            });
        });
        await bus.StartAsync().ConfigureAwait(false);
        using var pacer = new CallerPacer();
        try
        {
            var client = bus.CreateRequestClient<StartAiSession>(new Uri("queue:" + Endpoints.StartAiSessionQueue), RequestTimeout.After(s: 60));
            var maxFrames = (int)((options.WarmupSeconds + options.DurationSeconds + 120) * 50);

            // The first request also waits out the relay's start (its endpoint connects once its bus is up).
            var idle = relayPid is { } p0 ? ProcessMeter.Read(p0) : null;
            var started = Stopwatch.GetTimestamp();
            await StartCallAsync(client, gateway, pacer, maxFrames).ConfigureAwait(false);
            idle = relayPid is { } p1 ? ProcessMeter.Read(p1) : idle;
            using (var limit = new SemaphoreSlim(options.PrepareConcurrency))
            {
                var starts = new List<Task>();
                for (var i = 1; i < options.Calls; i++)
                {
                    if (options.RampRate > 0)
                    {
                        // Calls arrive at a set rate, as on a PBX, rather than all at once.
                        var due = started + (long)(i * Stopwatch.Frequency / options.RampRate);
                        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                        if (wait > TimeSpan.Zero)
                        {
                            await Task.Delay(wait).ConfigureAwait(false);
                        }
                    }

                    await limit.WaitAsync().ConfigureAwait(false);
                    starts.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await StartCallAsync(client, gateway, pacer, maxFrames).ConfigureAwait(false);
                        }
                        finally
                        {
                            limit.Release();
                        }
                    }));
                }

                await Task.WhenAll(starts).ConfigureAwait(false);
            }

            var rampSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            Console.WriteLine($"{_calls.Count} calls up in {rampSeconds:0.0} s ({Failures()})");
            await Task.Delay(TimeSpan.FromSeconds(options.WarmupSeconds)).ConfigureAwait(false);

            var relayBefore = relayPid is { } p2 ? ProcessMeter.Read(p2) : null;
            var selfBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var windowStart = Stopwatch.GetTimestamp();
            _window.Open(windowStart);
            await Task.Delay(TimeSpan.FromSeconds(options.DurationSeconds)).ConfigureAwait(false);
            var windowEnd = Stopwatch.GetTimestamp();
            var relayAfter = relayPid is { } p3 ? ProcessMeter.Read(p3) : null;
            var selfAfter = Process.GetCurrentProcess().TotalProcessorTime;
            var windowSeconds = Stopwatch.GetElapsedTime(windowStart, windowEnd).TotalSeconds;

            // Stop sending, let the echoes of the last frames come back, then measure nothing more and hang up.
            pacer.Dispose();
            await Task.Delay(Drain).ConfigureAwait(false);
            _window.Close(windowEnd);
            var sent = 0L;
            var skipped = 0L;
            var ended = 0;
            foreach (var (caller, _) in _calls)
            {
                sent += caller.FramesSent;
                skipped += caller.FramesSkipped;
                ended += caller.Ended.IsCompleted ? 1 : 0;
            }

            Report(rampSeconds, windowSeconds, sent, skipped, ended, idle, relayBefore, relayAfter, (selfAfter - selfBefore).TotalSeconds, pacer);
            await Task.WhenAll(_calls.Select(c => c.Caller.HangUpAsync())).ConfigureAwait(false);
            ReportTargets(await ReportRelaySideAsync().ConfigureAwait(false));
            return 0;
        }
        finally
        {
            foreach (var (caller, _) in _calls)
            {
                await caller.DisposeAsync().ConfigureAwait(false);
            }

            await bus.StopAsync().ConfigureAwait(false);
            if (relay is not null)
            {
                await relay.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task StartCallAsync(IRequestClient<StartAiSession> client, FakeGateway gateway, CallerPacer pacer, int maxFrames)
    {
        var callId = "load-" + Guid.NewGuid().ToString("N")[..12];
        var request = new StartAiSession
        {
            CallId = callId,
            AsteriskId = "loadtool",
            SessionId = Guid.NewGuid(),
            GatewayUrl = gateway.UrlFor($"/ws/org-load/bot-echo?key={FakeGateway.Secret}").ToString(),
            MediaMode = MediaMode.AstraPbxBinary,
            OrgId = "org-load",
            CallerNumber = "+15550100",
            Extension = "600",
            ChannelName = "PJSIP/load-" + callId,
        };
        try
        {
            var response = await client.GetResponse<AiSessionReady, AiSessionFailed>(request).ConfigureAwait(false);
            if (!response.Is(out Response<AiSessionReady>? readyResponse))
            {
                var reason = response.Is(out Response<AiSessionFailed>? failed) ? failed!.Message.Reason.ToString() : "unknown";
                _failures.AddOrUpdate("prepare:" + reason, 1, (_, n) => n + 1);
                return;
            }

            var ready = readyResponse!.Message;
            var colon = ready.RelayEndpoint.LastIndexOf(':');
            var probe = new CallProbe(_window, _stats, maxFrames);
            var caller = await AudioSocketCaller.DialAsync(ready.RelayEndpoint[..colon],
                int.Parse(ready.RelayEndpoint[(colon + 1)..], CultureInfo.InvariantCulture), ready.SessionId,
                new CallerOptions { Source = probe, Pacer = pacer, OnFrame = probe.OnFrame, RecordReceived = false }).ConfigureAwait(false);
            _calls.Add((caller, probe));
            lock (_ourSessions)
            {
                _ourSessions.Add(ready.SessionId);
            }
        }
        catch (Exception e) when (e is RequestTimeoutException or RequestFaultException or System.Net.Sockets.SocketException
                                      or OperationCanceledException or IOException)
        {
            _failures.AddOrUpdate(e.GetType().Name, 1, (_, n) => n + 1);
        }
    }

    /// <summary>Waits (up to 15 s) for the relay's AiSessionEnded of every call and sums its own timing counters.</summary>
    private async Task<long> ReportRelaySideAsync()
    {
        var deadline = Stopwatch.GetTimestamp() + 15 * Stopwatch.Frequency;
        while (Count() < _calls.Count && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(200).ConfigureAwait(false);
        }

        var ended = _ended.Values.Where(e => _ourSessions.Contains(e.SessionId)).ToList();
        if (ended.Count == 0)
        {
            Console.WriteLine("relay-side: no AiSessionEnded received");
            return 0;
        }

        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"relay-side (AiSessionEnded of {ended.Count} calls): frames to caller {ended.Sum(e => e.FramesToCaller)}, to gateway {ended.Sum(e => e.FramesToGateway)}; underruns {ended.Sum(e => e.Underruns)}; frames trimmed (drift correction) {ended.Sum(e => e.FramesTrimmed)}; late ticks (>2 ms) {ended.Sum(e => e.LateTicks)}; worst tick lateness {ended.Max(e => e.MaxLatenessMs):0.0} ms; ended by {string.Join(", ", ended.GroupBy(e => e.Reason).Select(g => $"{g.Key}: {g.Count()}"))}"));

        return ended.Sum(e => e.FramesTrimmed);

        int Count() => _ended.Keys.Count(id => _ourSessions.Contains(id));
    }

    private string Failures() =>
        _failures.IsEmpty ? "no failures" : string.Join(", ", _failures.Select(f => $"{f.Key}: {f.Value}"));

    private void Report(double rampSeconds, double windowSeconds, long sent, long skipped, int ended,
        ProcessMeter.Sample? idle, ProcessMeter.Sample? before, ProcessMeter.Sample? after, double selfCpu, CallerPacer pacer)
    {
        long echoes = 0, silence = 0, duplicates = 0, outOfOrder = 0;
        var baselines = new Histogram();
        foreach (var (_, probe) in _calls)
        {
            echoes += probe.DistinctEchoes;
            silence += probe.SilenceFrames;
            duplicates += probe.Duplicates;
            outOfOrder += probe.OutOfOrder;
            if (probe.RoundTrips.Count == 0)
            {
                continue;
            }

            var min = probe.RoundTrips.Min();
            baselines.Record(min);
            var intended = options.JitterTargetMs + 20.0;
            foreach (var rtt in probe.RoundTrips)
            {
                _stats.AddedRoundTrip.Record(rtt - min);
                _stats.BeyondIntended.Record(Math.Max(0, rtt - intended));
            }
        }

        var calls = _calls.Count;
        var lost = sent - echoes;
        var s = _stats;
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine();
        Console.WriteLine(string.Create(inv, $"calls: {calls} of {options.Calls} ({Failures()}); ramp {rampSeconds:0.0} s; measured {windowSeconds:0.0} s after {options.WarmupSeconds:0.#} s warm-up; calls ended early: {ended}"));
        Console.WriteLine(string.Create(inv, $"frames sent by callers: {sent}; echoed back: {echoes}; lost: {lost}; duplicates: {duplicates}; out of order: {outOfOrder}; silence fill received: {silence}; sends skipped (socket full): {skipped}"));
        Console.WriteLine(string.Create(inv, $"arrival spacing at the caller (ms): p50 {s.Spacing.Percentile(50):0.00}  p99 {s.Spacing.Percentile(99):0.00}  p99.9 {s.Spacing.Percentile(99.9):0.00}  max {s.Spacing.Max:0.00}  within 20±2 ms: {100 * s.Spacing.FractionWithin(18, 22):0.000}%  (n={s.Spacing.Count})"));
        Console.WriteLine(string.Create(inv, $"round trip (ms): p50 {s.RoundTrip.Percentile(50):0.00}  p99 {s.RoundTrip.Percentile(99):0.00}  max {s.RoundTrip.Max:0.00}  (n={s.RoundTrip.Count}); relay jitter target {options.JitterTargetMs} ms"));
        Console.WriteLine(string.Create(inv, $"per-call fixed delay (each call's smallest round trip = playout target + tick phase + transit) (ms): min {baselines.Min:0.00}  p50 {baselines.Percentile(50):0.00}  max {baselines.Max:0.00}"));
        Console.WriteLine(string.Create(inv, $"added round trip beyond the call's fixed delay (strict: each call's best frame) (ms): p50 {s.AddedRoundTrip.Percentile(50):0.00}  p99 {s.AddedRoundTrip.Percentile(99):0.00}  max {s.AddedRoundTrip.Max:0.00}"));
        Console.WriteLine(string.Create(inv, $"added round trip beyond the intended playout delay (jitter target {options.JitterTargetMs} ms + one 20 ms tick) (ms): p50 {s.BeyondIntended.Percentile(50):0.00}  p99 {s.BeyondIntended.Percentile(99):0.00}  max {s.BeyondIntended.Max:0.00}; frames beyond it: {100 * (1 - s.BeyondIntended.FractionWithin(0, 0.05)):0.00}%"));
        Console.WriteLine(string.Create(inv, $"caller-side pacer: late 1 ms slots (>2 ms) {pacer.LateSlots}, worst {pacer.MaxLatenessMs:0.0} ms, resyncs {pacer.Resyncs}; load tool CPU {selfCpu:0.0} s"));
        if (before is { } b && after is { } a && calls > 0)
        {
            var callMinutes = calls * windowSeconds / 60;
            var cpu = a.CpuSeconds - b.CpuSeconds;
            Console.WriteLine(string.Create(inv, $"relay CPU: {cpu:0.00} s over {callMinutes:0.0} call-minutes = {cpu / callMinutes:0.0000} CPU-s per call-minute ({100 * cpu / windowSeconds:0.0}% of one core)"));
            var idleRss = idle?.RssBytes ?? b.RssBytes;
            Console.WriteLine(string.Create(inv, $"relay memory: RSS {a.RssBytes / 1048576.0:0.0} MiB with {calls} calls, {idleRss / 1048576.0:0.0} MiB before; {(a.RssBytes - idleRss) / 1024.0 / calls:0.0} KiB per session; threads {a.Threads}"));
        }
        else
        {
            Console.WriteLine("relay CPU and memory: n/a (pass --start-relay or --relay-pid)");
        }

        _summary = (lost, s.Spacing.Percentile(1), s.Spacing.Percentile(99), s.AddedRoundTrip.Percentile(99), s.BeyondIntended.Percentile(99));
    }

    /// <summary>The verdict, once the relay's own count of frames it dropped on purpose (drift correction) is known.</summary>
    private void ReportTargets(long trimmed)
    {
        var (lost, p1, p99, strict, intended) = _summary;
        var unexplained = Math.Max(0, lost - trimmed);
        var spacing = p1 >= 18 && p99 is >= 18 and <= 22;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"targets: lost other than trimmed by drift correction = 0: {Verdict(unexplained == 0)} ({lost} lost, {trimmed} trimmed); no frame lost at all: {Verdict(lost == 0)}; spacing p1..p99 within 20±2 ms: {Verdict(spacing)}; added round trip p99 < 10 ms beyond the intended delay: {Verdict(intended < 10)} ({intended:0.00}); beyond each call's best frame (strict): {Verdict(strict < 10)} ({strict:0.00})"));

        static string Verdict(bool met) => met ? "MET" : "NOT MET";
    }

    private static string DefaultRelayDll()
    {
        var path = Path.Combine(RepoPaths.Root, "services", "AstraPbx.MediaRelay", "bin", "Release", "net10.0", "AstraPbx.MediaRelay.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("AstraPbx.MediaRelay.dll (Release) not found; build it or pass --relay-dll");
    }
}
