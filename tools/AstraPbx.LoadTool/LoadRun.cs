using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;

namespace AstraPbx.LoadTool;

/// <summary>One load run: echo gateway up, the measured relay up (AstraPbx's, sessions prepared over the broker exactly
/// as Routing does; or the Node.js peer, which needs no preparation), optionally pinned to its own core, N AudioSocket
/// callers dialled and paced by one shared pacer, a measurement window, then a report. Callers, echo bot, pacer and
/// figures are the same whichever relay is measured.</summary>
internal sealed class LoadRun(LoadOptions options)
{
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan GatewayLegsTimeout = TimeSpan.FromSeconds(30);

    private readonly LoadStats _stats = new();
    private CallerReceiver? _receiver;
    private LoadSummary _summary;
    private readonly LoadWindow _window = new();
    private readonly ConcurrentBag<(AudioSocketCaller Caller, CallProbe Probe)> _calls = [];
    private readonly ConcurrentDictionary<string, int> _failures = new();
    private readonly HashSet<Guid> _ourSessions = [];
    private bool _inlineEcho;
    private (int Raised, int Found) _echoThreads;

    public async Task<int> RunAsync()
    {
        // First, before the process's first socket: the switch is read once, when its socket engine starts.
        _inlineEcho = options.RealtimeThreads && EchoThreads.EnableInlineCompletions();
        IReadOnlyList<int> broker = [];
        if (options.ToolCore is { } toolCore)
        {
            // Before anything starts: the tool's threads (callers, pacer, echo gateway) and its children inherit the core.
            Console.WriteLine($"load tool pinned to core {toolCore}: {await CorePinning.PinAsync(Environment.ProcessId, toolCore).ConfigureAwait(false)}");
            (broker, var pinned) = await BrokerPinning.PinAsync(toolCore).ConfigureAwait(false);
            Console.WriteLine(pinned);
        }

        try
        {
            return await RunOnCoresAsync().ConfigureAwait(false);
        }
        finally
        {
            await BrokerPinning.UnpinAsync(broker).ConfigureAwait(false);
        }
    }

    private async Task<int> RunOnCoresAsync()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions
        {
            Behavior = GatewayBehavior.Echo,
            BeforeEcho = CallProbe.StampBotReceipt,
            AcceptSeedHandshake = options.Peer is not null,
            InlineTransport = _inlineEcho,
        }).ConfigureAwait(false);
        await using var relay = options.Peer is null
            ? await BrokerRelay.StartAsync(options, gateway).ConfigureAwait(false)
            : (IMeasuredRelay)await NodePeerRelay.StartAsync(options.PeerDir, gateway).ConfigureAwait(false);
        var relayPid = relay.Pid;
        Console.WriteLine($"relay measured: {relay.Name}{(relayPid is { } pid ? $", pid {pid}" : "")}");
        await PinRelayAsync(relayPid, announce: true).ConfigureAwait(false);
        RaiseEcho();
        using var pacer = new CallerPacer(realtime: options.RealtimeThreads);
        using var receiver = options.SharedReceiver ? new CallerReceiver(realtime: options.RealtimeThreads, kernelStamps: options.KernelStamps) : null;
        _receiver = receiver;
        using var gc = new ToolGcMeter();
        try
        {
            var maxFrames = (int)((options.WarmupSeconds + options.DurationSeconds + 120) * 50);

            // The first call also waits out the relay's start (our relay's endpoint connects once its bus is up).
            var noGc = StartNoGcRegion();
            var gcFromFirstCall = ToolGcMeter.Mark();
            var idle = relayPid is { } p0 ? ProcessMeter.Read(p0) : null;
            var started = Stopwatch.GetTimestamp();
            await StartCallAsync(relay, pacer, maxFrames).ConfigureAwait(false);
            idle = relayPid is { } p1 ? ProcessMeter.Read(p1) : idle;

            // Memory per session is measured between half the calls and all of them, both after the same warm-up (see
            // Report): the first half pays the process-wide costs (tier-1 JIT of the call path, thread-pool threads, GC
            // budgets), the second half only what its sessions hold.
            // The ramp starts once the first call is up: scheduled from before it, every call due while it waited out
            // the relay's warm-up (9 s, 450 calls at 50 a second) was sent at once, a burst instead of a ramp.
            var half = Math.Max(1, options.Calls / 2);
            await StartCallsAsync(relay, pacer, maxFrames, 1, half, Stopwatch.GetTimestamp()).ConfigureAwait(false);
            var rampSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (!await GatewayLegsUpAsync(gateway, 0, _calls.Count).ConfigureAwait(false))
            {
                return 1;
            }

            ProcessMeter.Sample? atHalf = null;
            GcHeapProbe.Heap? heapAtHalf = null;
            var halfCalls = _calls.Count;
            if (half < options.Calls)
            {
                await Task.Delay(TimeSpan.FromSeconds(options.WarmupSeconds)).ConfigureAwait(false);
                atHalf = relayPid is { } ph ? ProcessMeter.Read(ph) : null;
                heapAtHalf = await ProbeHeapAsync(relayPid).ConfigureAwait(false);
                var secondHalf = Stopwatch.GetTimestamp();
                await StartCallsAsync(relay, pacer, maxFrames, half, options.Calls, secondHalf).ConfigureAwait(false);
                rampSeconds += Stopwatch.GetElapsedTime(secondHalf).TotalSeconds;
                if (!await GatewayLegsUpAsync(gateway, halfCalls, _calls.Count).ConfigureAwait(false))
                {
                    return 1;
                }
            }

            Console.WriteLine($"{_calls.Count} calls up in {rampSeconds:0.0} s, {halfCalls} of them first ({Failures()})");
            await Task.Delay(TimeSpan.FromSeconds(options.WarmupSeconds)).ConfigureAwait(false);

            // Again, for any thread the relay started while the first taskset went through its threads.
            await PinRelayAsync(relayPid, announce: false).ConfigureAwait(false);
            RaiseEcho();
            var relayBefore = relayPid is { } p2 ? ProcessMeter.Read(p2) : null;
            var heapAtAll = await ProbeHeapAsync(relayPid).ConfigureAwait(false);
            var selfBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var wakeupsBefore = options.ToolCore is { } c0 ? WakeupMeter.Read(c0) : null;
            var relayCoreBefore = options.RelayCore is { } rc0 ? CoreMeter.Read(rc0) : null;
            var gcAtWindow = ToolGcMeter.Mark();
            var windowStart = Stopwatch.GetTimestamp();
            _window.Open(windowStart);
            await Task.Delay(TimeSpan.FromSeconds(options.DurationSeconds)).ConfigureAwait(false);
            var windowEnd = Stopwatch.GetTimestamp();
            var gcAtEnd = ToolGcMeter.Mark();
            var noGcHeld = noGc.Started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion;
            var allocated = GC.GetTotalAllocatedBytes() - noGc.AllocatedBefore;
            var relayAfter = relayPid is { } p3 ? ProcessMeter.Read(p3) : null;
            var selfAfter = Process.GetCurrentProcess().TotalProcessorTime;
            var wakeupsAfter = options.ToolCore is { } c1 ? WakeupMeter.Read(c1) : null;
            var relayCoreAfter = options.RelayCore is { } rc1 ? CoreMeter.Read(rc1) : null;
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

            Report(relay, rampSeconds, windowSeconds, sent, skipped, ended, new MemoryPoints(idle, atHalf, halfCalls, heapAtHalf, heapAtAll), relayBefore, relayAfter,
                (selfAfter - selfBefore).TotalSeconds, wakeupsAfter - wakeupsBefore, pacer, relayCoreAfter - relayCoreBefore);
            ReportToolQuiet(gc.Between(gcAtWindow, gcAtEnd), gc.Between(gcFromFirstCall, gcAtEnd),
                noGc.Started ? (noGcHeld, allocated) : null, await pacer.Realtime.ConfigureAwait(false),
                receiver is null ? null : await receiver.Realtime.ConfigureAwait(false));
            if (noGcHeld)
            {
                GC.EndNoGCRegion();
            }

            await Task.WhenAll(_calls.Select(c => c.Caller.HangUpAsync())).ConfigureAwait(false);
            ReportTargets(relay, await relay.ReportRelaySideAsync(_ourSessions).ConfigureAwait(false));
            return 0;
        }
        finally
        {
            foreach (var (caller, _) in _calls)
            {
                await caller.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Dials calls <paramref name="from"/> to <paramref name="to"/> (exclusive), at most
    /// <c>--prepare-concurrency</c> at once, at <c>--ramp-rate</c> from <paramref name="started"/> when one is set.</summary>
    private async Task StartCallsAsync(IMeasuredRelay relay, CallerPacer pacer, int maxFrames, int from, int to, long started)
    {
        using var limit = new SemaphoreSlim(options.PrepareConcurrency);
        var starts = new List<Task>();
        for (var i = from; i < to; i++)
        {
            if (options.RampRate > 0)
            {
                // Calls arrive at a set rate, as on a PBX, rather than all at once.
                var due = started + (long)((i - from + 1) * Stopwatch.Frequency / options.RampRate);
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
                    await StartCallAsync(relay, pacer, maxFrames).ConfigureAwait(false);
                }
                finally
                {
                    limit.Release();
                }
            }));
        }

        await Task.WhenAll(starts).ConfigureAwait(false);
    }

    /// <summary>With <c>--relay-core</c>: moves every thread of the relay to that core, and says how many are there.</summary>
    private async Task PinRelayAsync(int? pid, bool announce)
    {
        if (options.RelayCore is not { } core)
        {
            return;
        }

        if (pid is not { } relayPid)
        {
            throw new InvalidOperationException("--relay-core needs the relay's pid: pass --start-relay, --relay-pid or --peer");
        }

        var command = await CorePinning.PinAsync(relayPid, core).ConfigureAwait(false);
        var (onCore, threads) = CorePinning.Check(relayPid, core);
        if (announce || onCore != threads)
        {
            Console.WriteLine($"relay pinned to core {core}: {command} ({onCore} of {threads} threads on core {core} only)");
        }
    }

    /// <summary>Waits until the echo gateway has read the handshake of calls <paramref name="from"/> to
    /// <paramref name="to"/>'s WebSockets. False when it refused one (the relay's handshake is wrong: nothing would be
    /// measured); a slow start is only reported.</summary>
    private async Task<bool> GatewayLegsUpAsync(FakeGateway gateway, int from, int to)
    {
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(GatewayLegsTimeout.TotalSeconds * Stopwatch.Frequency);
        for (var i = from; i < to; i++)
        {
            GatewaySession session;
            try
            {
                var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                session = await gateway.NextSession(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Console.WriteLine($"gateway: {i} of {to} calls' WebSockets up after {GatewayLegsTimeout.TotalSeconds:0} s; measuring anyway");
                return true;
            }

            if (session.HandshakeError is { } error)
            {
                Console.WriteLine($"gateway refused the relay's handshake (closed 1008): {error}");
                return false;
            }
        }

        Console.WriteLine($"{to - from} gateway WebSockets up, handshakes accepted, {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s after the last call was up");
        return true;
    }

    private async Task StartCallAsync(IMeasuredRelay relay, CallerPacer pacer, int maxFrames)
    {
        try
        {
            if (await relay.OpenSessionAsync(Fail).ConfigureAwait(false) is not { } endpoint)
            {
                return;
            }

            var probe = new CallProbe(_window, _stats, maxFrames);
            var caller = await AudioSocketCaller.DialAsync(endpoint.Host, endpoint.Port, endpoint.SessionId,
                new CallerOptions { Source = probe, Pacer = pacer, Receiver = _receiver, OnFrame = probe.OnFrame, RecordReceived = false }).ConfigureAwait(false);
            _calls.Add((caller, probe));
            lock (_ourSessions)
            {
                _ourSessions.Add(endpoint.SessionId);
            }
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException or IOException)
        {
            Fail(e.GetType().Name);
        }
    }

    private void Fail(string reason) => _failures.AddOrUpdate(reason, 1, (_, n) => n + 1);

    private string Failures() =>
        _failures.IsEmpty ? "no failures" : string.Join(", ", _failures.Select(f => $"{f.Key}: {f.Value}"));

    private void Report(IMeasuredRelay relay, double rampSeconds, double windowSeconds, long sent, long skipped, int ended,
        MemoryPoints memory, ProcessMeter.Sample? before, ProcessMeter.Sample? after, double selfCpu, long? toolWakeups, CallerPacer pacer,
        CoreMeter.Sample? relayCore)
    {
        long echoes = 0, silence = 0, duplicates = 0, outOfOrder = 0, beforeFirstEcho = 0, lostInWindow = 0;
        var baselines = new Histogram();
        var intended = relay.IntendedDelayMs;
        foreach (var (caller, probe) in _calls)
        {
            echoes += probe.DistinctEchoes;
            silence += probe.SilenceFrames;
            duplicates += probe.Duplicates;
            outOfOrder += probe.OutOfOrder;
            // Frames sent before the first one that came back: a relay that opens the bot's WebSocket only when the
            // call arrives (the peer) drops them by design. A call with no echo at all counts as lost, not here.
            beforeFirstEcho += Math.Max(0, probe.FirstEchoedFrame);
            lostInWindow += probe.LostInWindow();
            if (probe.RoundTrips.Count == 0)
            {
                continue;
            }

            var min = probe.RoundTrips.Min();
            baselines.Record(min);
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
        var playout = options.Peer is null ? $"jitter target {options.JitterTargetMs} ms + one 20 ms tick" : "no jitter buffer: one 20 ms tick of its paced sender";
        Console.WriteLine();
        Console.WriteLine($"relay: {relay.Name}{Pinning()}");
        Console.WriteLine(string.Create(inv, $"calls: {calls} of {options.Calls} ({Failures()}); ramp {rampSeconds:0.0} s; measured {windowSeconds:0.0} s after {options.WarmupSeconds:0.#} s warm-up; calls ended early: {ended}"));
        Console.WriteLine(string.Create(inv, $"frames sent by callers: {sent}; echoed back: {echoes}; lost: {lost} (of which before the call's first echo: {beforeFirstEcho}; sent inside the window: {lostInWindow}); duplicates: {duplicates}; out of order: {outOfOrder}; silence fill received: {silence}; sends skipped (socket full): {skipped}"));
        var slowCalls = _calls.Where(c => c.Probe.RoundTrips.Count > 0 && c.Probe.RoundTrips.Min() > intended + 20).ToList();
        var slow = slowCalls.Take(10)
            .Select(c => string.Create(inv, $"started {Stopwatch.GetElapsedTime(_window.Start, c.Probe.FirstSent).TotalSeconds:0.00} s, first echo frame {c.Probe.FirstEchoedFrame} after {c.Probe.FirstEchoRoundTripMs:0} ms, best {c.Probe.RoundTrips.Min():0} ms, frames {c.Probe.FirstEchoedFrame}.. uplink/round trip ms: {c.Probe.Around(c.Probe.FirstEchoedFrame + 4)}")).ToList();
        if (slow.Count > 0)
        {
            Console.WriteLine($"calls whose best round trip is over 20 ms beyond the intended delay: {slowCalls.Count}; {string.Join("; ", slow)}");
        }

        var lostAt = _calls.SelectMany(c => c.Probe.LostFrames(10).Select(f => (f.Seq, f.SentAt, c.Probe))).Take(10)
            .Select(f => string.Create(inv, $"{Stopwatch.GetElapsedTime(_window.Start, f.SentAt).TotalSeconds:0.00} (frame {f.Seq}; frames {Math.Max(0, f.Seq - 4)}.. uplink/round trip ms: {f.Probe.Around(f.Seq)})")).ToList();
        if (lostAt.Count > 0)
        {
            Console.WriteLine($"lost after a call's first echo, sent at (s from the window's start; the last calls were up {options.WarmupSeconds:0.#} s before it): {string.Join(", ", lostAt)}");
        }

        Console.WriteLine(string.Create(inv, $"arrival spacing at the caller (ms): p50 {s.Spacing.Percentile(50):0.00}  p99 {s.Spacing.Percentile(99):0.00}  p99.9 {s.Spacing.Percentile(99.9):0.00}  max {s.Spacing.Max:0.00}  within 20±2 ms: {100 * s.Spacing.FractionWithin(18, 22):0.000}%  (n={s.Spacing.Count})"));
        Console.WriteLine(string.Create(inv, $"round trip (ms): p50 {s.RoundTrip.Percentile(50):0.00}  p99 {s.RoundTrip.Percentile(99):0.00}  max {s.RoundTrip.Max:0.00}  (n={s.RoundTrip.Count}); intended playout delay {intended:0} ms ({playout})"));
        Console.WriteLine(string.Create(inv, $"per-call fixed delay (each call's smallest round trip = playout target + tick phase + transit) (ms): min {baselines.Min:0.00}  p50 {baselines.Percentile(50):0.00}  max {baselines.Max:0.00}"));
        Console.WriteLine(string.Create(inv, $"added round trip beyond the call's fixed delay (strict: each call's best frame) (ms): p50 {s.AddedRoundTrip.Percentile(50):0.00}  p99 {s.AddedRoundTrip.Percentile(99):0.00}  max {s.AddedRoundTrip.Max:0.00}"));
        Console.WriteLine(string.Create(inv, $"added round trip beyond the intended playout delay ({playout}) (ms): p50 {s.BeyondIntended.Percentile(50):0.00}  p99 {s.BeyondIntended.Percentile(99):0.00}  max {s.BeyondIntended.Max:0.00}; frames beyond it: {100 * (1 - s.BeyondIntended.FractionWithin(0, 0.05)):0.00}%"));
        Console.WriteLine(string.Create(inv, $"caller-side pacer: late 1 ms slots (>2 ms) {pacer.LateSlots}, worst {pacer.MaxLatenessMs:0.0} ms, resyncs {pacer.Resyncs}; load tool CPU {selfCpu:0.0} s"));
        double? wakeupsPerSecond = toolWakeups / windowSeconds;
        if (wakeupsPerSecond is { } w)
        {
            // What the relay's sends cost it beyond the packets: a wake-up of a tool thread that slept on the other core.
            Console.WriteLine(string.Create(inv, $"wake-ups into the load tool's core {options.ToolCore} (rescheduling + function-call interrupts): {w:0} per second, {w / 50 / Math.Max(1, calls):0.00} per call per 20 ms"));
        }

        double? cpuPerCallMinute = null, kibPerSession = null;
        if (before is { } b && after is { } a && calls > 0)
        {
            var callMinutes = calls * windowSeconds / 60;
            var cpu = a.CpuSeconds - b.CpuSeconds;
            cpuPerCallMinute = cpu / callMinutes;
            Console.WriteLine(string.Create(inv, $"relay CPU: {cpu:0.00} s over {callMinutes:0.0} call-minutes = {cpuPerCallMinute:0.0000} CPU-s per call-minute ({100 * cpu / windowSeconds:0.0}% of one core; user {a.UserSeconds - b.UserSeconds:0.00} s, system {a.SystemSeconds - b.SystemSeconds:0.00} s)"));
            if (relayCore is { Total: > 0 } core)
            {
                // USER_HZ ticks, like the relay's own figure: what of the core's busy time was not the relay's, and what the
                // hypervisor took. A window with either is slower for reasons that are not the relay's.
                var busy = core.Busy / ProcessMeter.ClockTicks;
                Console.WriteLine(string.Create(inv, $"relay's core {options.RelayCore} during the window: busy {100.0 * core.Busy / core.Total:0.0}%, of which other than the relay {100 * Math.Max(0, busy - cpu) / windowSeconds:0.0}% of the core; steal (the hypervisor) {100.0 * core.Steal / core.Total:0.00}%"));
            }

            var idleRss = memory.Idle?.RssBytes ?? b.RssBytes;
            var fromIdle = (a.RssBytes - idleRss) / 1024.0 / calls;
            if (memory.AtHalf is { } h && calls > memory.HalfCalls)
            {
                // The second half's own cost: both points after the same warm-up, with the process already warm. Read at
                // the window's start, not its end: a relay that falls behind holds the backlog (seconds of bot audio per
                // call in its jitter buffers) during the window, which is overload, not what a session costs.
                kibPerSession = (b.RssBytes - h.RssBytes) / 1024.0 / (calls - memory.HalfCalls);
                Console.WriteLine(string.Create(inv, $"relay memory: RSS {b.RssBytes / 1048576.0:0.0} MiB with {calls} calls, {h.RssBytes / 1048576.0:0.0} MiB with {memory.HalfCalls} (each {options.WarmupSeconds:0.#} s after its calls were up), {idleRss / 1048576.0:0.0} MiB after the first call; {kibPerSession:0.0} KiB per session ({memory.HalfCalls} -> {calls} calls); {fromIdle:0.0} KiB per session from the first call (with the process-wide warm-up); threads {h.Threads} -> {b.Threads}"));
                if (memory.HeapAtHalf is { } hh && memory.HeapAtAll is { } ha)
                {
                    // Garbage the ramp left (setup allocations no collection has run on yet) is not in these: each is read
                    // right after a full, blocking collection the tool induced (--gc-heap).
                    Console.WriteLine(string.Create(inv, $"relay GC heap after an induced full GC (--gc-heap): {ha.Bytes / 1048576.0:0.0} MiB with {calls} calls, {hh.Bytes / 1048576.0:0.0} MiB with {memory.HalfCalls}; {(ha.Bytes - hh.Bytes) / 1024.0 / (calls - memory.HalfCalls):0.0} KiB of live objects per session ({memory.HalfCalls} -> {calls} calls); RSS right after each GC {RssMiB(ha.After)} and {RssMiB(hh.After)} MiB"));
                }
                else if (options.GcHeap)
                {
                    Console.WriteLine("relay GC heap after an induced full GC (--gc-heap): n/a (the relay's diagnostics port did not answer)");
                }

                Console.WriteLine(string.Create(inv, $"relay memory during the window: {(a.RssBytes - b.RssBytes) / 1048576.0:+0.0;-0.0} MiB to {a.RssBytes / 1048576.0:0.0} MiB ({(a.RssBytes - h.RssBytes) / 1024.0 / (calls - memory.HalfCalls):0.0} KiB per session {memory.HalfCalls} -> {calls} at its end; growth here is backlog when the relay fell behind)"));
            }
            else
            {
                kibPerSession = fromIdle;
                Console.WriteLine(string.Create(inv, $"relay memory: RSS {a.RssBytes / 1048576.0:0.0} MiB with {calls} calls, {idleRss / 1048576.0:0.0} MiB after the first; {kibPerSession:0.0} KiB per session; threads {a.Threads}"));
            }
        }
        else
        {
            Console.WriteLine("relay CPU and memory: n/a (pass --start-relay, --relay-pid or --peer)");
        }

        _summary = new LoadSummary(calls, lost, beforeFirstEcho, s.Spacing.Percentile(1), s.Spacing.Percentile(99), s.AddedRoundTrip.Percentile(99),
            s.BeyondIntended.Percentile(99), cpuPerCallMinute, kibPerSession, wakeupsPerSecond);
    }

    /// <summary>With <c>--tool-no-gc-mb</c>: the load tool collects once, then allocates from a budget reserved up front
    /// instead of collecting during the calls (a run allocates about 26 MB with 50 calls).</summary>
    private (bool Started, long AllocatedBefore) StartNoGcRegion()
    {
        if (options.ToolNoGcMegabytes == 0)
        {
            return (false, 0);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalAllocatedBytes();
        try
        {
            return (GC.TryStartNoGCRegion(options.ToolNoGcMegabytes * 1024L * 1024), before);
        }
        catch (ArgumentOutOfRangeException e)
        {
            Console.WriteLine($"load tool: no-GC region of {options.ToolNoGcMegabytes} MB refused ({e.Message}); collecting as usual");
            return (false, before);
        }
    }

    /// <summary>With the echo inline: its threads to nice -20 (again before the window, for any the socket engine started
    /// since).</summary>
    private void RaiseEcho()
    {
        if (_inlineEcho)
        {
            _echoThreads = EchoThreads.RaiseSocketEngine();
        }
    }

    /// <summary>How quiet the measuring instrument was: its own GC pauses (each delays every caller's frames and the echo
    /// bot's replies at once, which the relay then sees as late audio), whether its no-GC region held, whether the pacer
    /// ran at real-time priority.</summary>
    private void ReportToolQuiet(ToolGcMeter.Snapshot window, ToolGcMeter.Snapshot calls, (bool Held, long Allocated)? noGc, bool realtimePacer,
        bool? realtimeReceiver)
    {
        var receiving = realtimeReceiver is { } rt
            ? $"one receiver thread for every caller, at SCHED_FIFO {(rt ? "yes" : "no")}, frames stamped {(_receiver is { UsesKernelStamps: true } ? "when the kernel received them" : "when the receiver woke")}"
            : "a receive loop per caller on the thread pool";
        var region = noGc is { } r
            ? $"no-GC region of {options.ToolNoGcMegabytes} MB {(r.Held ? "held" : "ended early")} ({r.Allocated / 1048576.0:0.0} MB allocated from the first call to the window's end)"
            : "no no-GC region";
        var echo = _inlineEcho
            ? $"echo bot inline on the socket engine's {_echoThreads.Found} threads, at nice {EchoThreads.Nice} {(_echoThreads.Found > 0 && _echoThreads.Raised == _echoThreads.Found ? "yes" : "no")}"
            : "echo bot on the thread pool";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load tool: pacer at SCHED_FIFO {(realtimePacer ? "yes" : "no")}; {receiving}; {echo}; {region}; GC pauses {window.Pauses} in the window ({window.TotalMs:0.0} ms, longest {window.MaxMs:0.0} ms), {calls.Pauses} from the first call ({calls.TotalMs:0.0} ms, longest {calls.MaxMs:0.0} ms)"));
    }

    /// <summary>The relay's memory after its first call and with the first half of the calls up (null: one call, or
    /// no pid).</summary>
    private readonly record struct MemoryPoints(ProcessMeter.Sample? Idle, ProcessMeter.Sample? AtHalf, int HalfCalls,
        GcHeapProbe.Heap? HeapAtHalf, GcHeapProbe.Heap? HeapAtAll);

    /// <summary>With <c>--gc-heap</c>: our relay's heap after an induced full collection (then a second for the relay to
    /// catch up on the ticks the collection's pause delayed, before anything is measured).</summary>
    private async Task<GcHeapProbe.Heap?> ProbeHeapAsync(int? pid)
    {
        if (!options.GcHeap || pid is not { } p)
        {
            return null;
        }

        var heap = await GcHeapProbe.CollectAsync(p, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        return heap;
    }

    private static string RssMiB(ProcessMeter.Sample? sample) =>
        sample is { } s ? (s.RssBytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) : "n/a";

    private string Pinning() => (options.RelayCore, options.ToolCore) switch
    {
        (null, null) => "; not pinned",
        ({ } r, null) => $"; relay pinned to core {r}",
        (null, { } t) => $"; load tool pinned to core {t}",
        ({ } r, { } t) => $"; relay pinned to core {r}, load tool (callers, pacer, echo gateway) to core {t}",
    };

    /// <summary>The verdict, once the relay's own count of frames it dropped on purpose (drift correction) is known,
    /// then the figures again on one line of KEY=VALUE for scripts (scripts/bench-relays).</summary>
    private void ReportTargets(IMeasuredRelay relay, RelaySide relaySide)
    {
        var f = _summary;
        var trimmed = relaySide.Frames;
        var unexplained = Math.Max(0, f.Lost - trimmed);
        var spacing = f.SpacingP1 >= 18 && f.SpacingP99 is >= 18 and <= 22;
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"targets: lost other than trimmed by drift correction = 0: {Verdict(unexplained == 0)} ({f.Lost} lost, {trimmed} trimmed); no frame lost at all: {Verdict(f.Lost == 0)}; spacing p1..p99 within 20±2 ms: {Verdict(spacing)}; added round trip p99 < 10 ms beyond the intended delay: {Verdict(f.BeyondIntendedP99 < 10)} ({f.BeyondIntendedP99:0.00}); beyond each call's best frame (strict): {Verdict(f.AddedP99 < 10)} ({f.AddedP99:0.00})"));
        var refused = relay is BrokerRelay broker ? broker.RefusedAfterMs.Order().ToArray() : [];
        if (refused.Length > 0)
        {
            Console.WriteLine(string.Create(inv, $"admission: {refused.Length} of {options.Calls} calls refused as Routing refuses them (no request while the relay reports no room; a waiting request given up when it does; or OverCapacity), {refused[refused.Length / 2]:0} ms median and {refused[^1]:0} ms at most after the call was placed"));
        }

        Console.WriteLine(string.Create(inv, $"issue 13 targets (admitted calls): no frame lost: {Verdict(f.Lost == 0)} ({f.Lost}; {f.Lost - f.LostBeforeFirstEcho} after each call's first echo); spacing p99 <= 22 ms: {Verdict(f.SpacingP99 <= 22)} ({f.SpacingP99:0.00}); added round trip p99 <= 30 ms: {Verdict(f.AddedP99 <= 30)} ({f.AddedP99:0.00}); refused within 1 s: {(refused.Length == 0 ? "none refused" : Verdict(refused[^1] <= 1000))}; none lost for the relay's own stalls (trimmed for ticks it skipped): {(relaySide.ForSkippedTicks is { } own ? $"{Verdict(own == 0)} ({own})" : "n/a")}; the relay's own ticks spaced p99 <= 22 ms (ticks > 2 ms late under 1 % of its frames): {(relaySide.LateTickShare is { } late ? $"{Verdict(late < 0.01)} ({100 * late:0.00} %)" : "n/a")}"));
        Console.WriteLine(string.Create(inv, $"summary: relay={relay.Key} offered={options.Calls} refused={refused.Length} calls={f.Calls} cpu_per_call_minute={Figure(f.CpuPerCallMinute, "0.0000")} lost={f.Lost} lost_before_first_echo={f.LostBeforeFirstEcho} trimmed={trimmed} trimmed_for_skipped_ticks={Figure(relaySide.ForSkippedTicks, "0")} late_tick_pct={Figure(relaySide.LateTickShare * 100, "0.00")} spacing_p99_ms={f.SpacingP99:0.00} added_rtt_p99_ms={f.AddedP99:0.00} beyond_intended_p99_ms={f.BeyondIntendedP99:0.00} rss_kib_per_session={Figure(f.KiBPerSession, "0.0")} tool_wakeups_per_s={Figure(f.ToolWakeupsPerSecond, "0")}"));

        static string Verdict(bool met) => met ? "MET" : "NOT MET";

        static string Figure(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture) ?? "n/a";
    }
}
