using System.CommandLine;
using AstraPbx.LocalRun.Cli;
using AstraPbx.Simulators.AudioSocket;

namespace AstraPbx.LoadTool;

/// <summary>Command line of the load tool.</summary>
internal sealed class LoadOptions
{
    public int Calls { get; private init; } = 100;

    public double DurationSeconds { get; private init; } = 30;

    public double WarmupSeconds { get; private init; } = 2;

    public bool StartRelay { get; private init; }

    public string? RelayDll { get; private init; }

    public int? RelayPid { get; private init; }

    public string? RabbitMq { get; private init; }

    public int PrepareConcurrency { get; private init; } = 32;

    public int JitterTargetMs { get; private init; } = 40;

    public double RampRate { get; private init; }

    public IReadOnlyList<string> RelaySettings { get; private init; } = [];

    /// <summary><c>node</c>: measure the seed-style Node.js peer instead of AstraPbx's relay.</summary>
    public string? Peer { get; private init; }

    public string? PeerDir { get; private init; }

    public int? RelayCore { get; private init; }

    public int? ToolCore { get; private init; }

    /// <summary>Also read the GC heap after an induced full collection at both memory points (ours only).</summary>
    public bool GcHeap { get; private init; }

    /// <summary>Megabytes the load tool reserves so that it does not collect garbage from the first call to the report (0:
    /// collect as usual).</summary>
    public int ToolNoGcMegabytes { get; private init; } = 1024;

    /// <summary>Run the caller pacer and receiver at SCHED_FIFO, and the echo bot inline at nice -20 (where the tool may;
    /// see <see cref="EchoThreads"/>).</summary>
    public bool RealtimeThreads { get; private init; } = true;

    /// <summary>Read the callers on one receiver thread (epoll) rather than a receive loop each on the thread pool.</summary>
    public bool SharedReceiver { get; private init; } = true;

    /// <summary>Stamp each frame with the kernel's receive time (the shared receiver, where the platform has it) rather
    /// than the time the receiver thread woke.</summary>
    public bool KernelStamps { get; private init; } = true;

    /// <summary>Seconds of <see cref="StallProbe"/> instead of a load run (0: a load run).</summary>
    public double ProbeStallsSeconds { get; private init; }

    /// <summary>A probe's wake-up later than this is a stall.</summary>
    public double StallThresholdMs { get; private init; } = 4;

    /// <summary>The command: every option with its default and bounds, running <paramref name="run"/> with the values.
    /// Bounded by design: the tool must stop by itself and stay a local benchmark.</summary>
    public static RootCommand Command(Func<LoadOptions, Task<int>> run)
    {
        var defaults = new LoadOptions();
        var calls = ToolCommandLine.NewOption("--calls", defaults.Calls, "concurrent calls (at most 2000)", "N")
            .Require(v => v is >= 1 and <= 2000, "--calls must be 1-2000");
        var duration = ToolCommandLine.NewOption("--duration", defaults.DurationSeconds, "measured seconds once every call is up (at most 600)", "S")
            .Require(v => v is > 0 and <= 600, "--duration must be 0-600 s");
        var warmup = ToolCommandLine.NewOption("--warmup", defaults.WarmupSeconds, "seconds after the last call is up before measuring", "S")
            .Require(v => v is >= 0 and <= 60, "--warmup must be 0-60 s");
        var startRelay = new Option<bool>("--start-relay")
        {
            Description = "start the relay from its Release build on free loopback ports and a private vhost",
        };
        var relayDll = new Option<string?>("--relay-dll")
        {
            Description = "relay dll for --start-relay (default services/AstraPbx.MediaRelay/bin/Release/net10.0)",
            HelpName = "PATH",
        };
        var relayPid = new Option<int?>("--relay-pid") { Description = "an already running relay's pid, for CPU and memory figures", HelpName = "PID" };
        var relaySettings = new Option<string[]>("--relay-setting")
        {
            Description = "extra relay setting for --start-relay (e.g. Relay:PrepareConcurrency=64), repeatable",
            HelpName = "K=V",
        }.Require(v => Array.TrueForAll(v, s => s.IndexOf('=', StringComparison.Ordinal) > 0), "--relay-setting takes KEY=VALUE");
        var jitterTarget = ToolCommandLine.NewOption("--jitter-target-ms", defaults.JitterTargetMs, "the relay's Relay:JitterTargetMs (set with --start-relay)", "MS");
        var rabbitMq = new Option<string?>("--rabbitmq") { Description = "broker (default ASTRAPBX_RABBITMQ, then .infra/env)", HelpName = "AMQP_URL" };
        var prepareConcurrency = ToolCommandLine.NewOption("--prepare-concurrency", defaults.PrepareConcurrency, "StartAiSession requests in flight at once", "N");
        var rampRate = ToolCommandLine.NewOption("--ramp-rate", defaults.RampRate, "start calls at R per second (0: as fast as --prepare-concurrency allows)", "R")
            .Require(v => v is >= 0 and <= 1000, "--ramp-rate must be 0-1000");
        var peer = new Option<string?>("--peer")
        {
            Description = "measure a peer instead of AstraPbx's relay: 'node' = the seed-style Node.js relay (started by the tool, " +
                "PACE=1, its dependency installed by npm on first use); no broker needed",
            HelpName = "node",
        }.Require(v => v == "node", "--peer: the only peer is 'node'");
        var peerDir = new Option<string?>("--peer-dir")
        {
            Description = "the peer's folder, copied to .bench/ before use (default ../shared/peers/node-seed-relay beside the repository)",
            HelpName = "PATH",
        };
        var relayCore = new Option<int?>("--relay-core")
        {
            Description = "pin the measured relay (ours or the peer), every thread, to this core: taskset -a -p -c N <pid>",
            HelpName = "N",
        }.Require(v => v is >= 0 and <= 1023, "--relay-core must be a core number");
        var toolCore = new Option<int?>("--tool-core")
        {
            Description = "pin the load tool itself (callers, pacer, echo gateway) to this core: taskset -a -p -c N <own pid>; " +
                "the local broker (scripts/infra's RabbitMQ) and what it started go there too for the run, and back to every core after it",
            HelpName = "N",
        }.Require(v => v is >= 0 and <= 1023, "--tool-core must be a core number");

        var gcHeap = new Option<bool>("--gc-heap")
        {
            Description = "also induce a full GC in our relay at both memory points (after reading RSS there) and print its heap after " +
                "it per session: what sessions hold, without setup garbage; the collection at the first point changes the RSS " +
                "figure's conditions, so compare RSS figures only between runs without it",
        };

        var toolNoGc = ToolCommandLine.NewOption("--tool-no-gc-mb", defaults.ToolNoGcMegabytes,
            "the load tool's own GC: reserve this many MB and collect nothing from the first call to the report (its 20-40 ms " +
            "pauses would reach the relay as late callers and late bot audio); 0: collect as usual", "MB")
            .Require(v => v is >= 0 and <= 16384, "--tool-no-gc-mb must be 0-16384");
        var ordinaryThreads = new Option<bool>("--no-realtime")
        {
            Description = "leave the caller pacer, the receiver and the echo bot on ordinary threads (by default the pacer and receiver ask for " +
                "SCHED_FIFO and the echo runs inline on the socket engine's threads at nice -20, so nothing else on the tool's core delays a " +
                "caller's frame, its echo, or the time its reply is stamped with)",
        };
        var loopPerCaller = new Option<bool>("--receive-per-call")
        {
            Description = "read each caller on its own receive loop on the thread pool, as before (by default one receiver thread waits on every " +
                "caller's socket and stamps arrivals as the kernel wakes it)",
        };
        var wakeupStamps = new Option<bool>("--wakeup-stamps")
        {
            Description = "stamp each frame with the time the receiver thread woke, as before (by default with the time the kernel received it, " +
                "SO_TIMESTAMPNS: on loopback the time the relay sent it, whatever the receiver's place in its batch)",
        };

        var probeStalls = ToolCommandLine.NewOption("--probe-stalls", defaults.ProbeStallsSeconds,
            "instead of a load run: for this many seconds, a thread per core (pinned, SCHED_FIFO where allowed) sleeps 1 ms at a time " +
            "and counts the wake-ups that came late, and those late on every core at once (the machine held up); run it on an idle machine", "SECONDS")
            .Require(v => v is >= 0 and <= 600, "--probe-stalls must be 0-600");
        var stallThreshold = ToolCommandLine.NewOption("--stall-threshold-ms", defaults.StallThresholdMs, "with --probe-stalls: a wake-up this late is a stall", "MS")
            .Require(v => v is >= 1 and <= 1000, "--stall-threshold-ms must be 1-1000");

        var root = new RootCommand("""
            AstraPbx load tool: N concurrent simulated Asterisk calls (AudioSocket, one 20 ms frame every 20 ms) through a
            running MediaRelay (or the seed-style Node.js peer, --peer node) to an echo gateway; reports frames lost, arrival
            spacing, added round trip, relay CPU and memory.
            """)
        {
            calls, duration, warmup, startRelay, relayDll, relayPid, relaySettings, jitterTarget, rabbitMq, prepareConcurrency, rampRate,
            peer, peerDir, relayCore, toolCore, gcHeap, toolNoGc, ordinaryThreads, loopPerCaller,
            wakeupStamps, probeStalls, stallThreshold,
        };
        root.Validators.Add(result =>
        {
            if (result.GetValue(peer) is not null && (result.GetValue(startRelay) || result.GetValue(relayPid) is not null))
            {
                result.AddError("--peer starts and measures the peer: drop --start-relay and --relay-pid");
            }

            if (result.GetValue(gcHeap) && result.GetValue(peer) is not null)
            {
                result.AddError("--gc-heap reads a .NET relay's GC heap: not with --peer");
            }

            if (result.GetValue(relayCore) is { } r && r == result.GetValue(toolCore))
            {
                result.AddError("--relay-core and --tool-core must differ: the relay gets a core of its own");
            }
        });
        root.SetAction(parsed => run(new LoadOptions
        {
            Calls = parsed.GetValue(calls),
            DurationSeconds = parsed.GetValue(duration),
            WarmupSeconds = parsed.GetValue(warmup),
            StartRelay = parsed.GetValue(startRelay),
            RelayDll = parsed.GetValue(relayDll),
            RelayPid = parsed.GetValue(relayPid),
            RelaySettings = parsed.GetValue(relaySettings) ?? [],
            JitterTargetMs = parsed.GetValue(jitterTarget),
            RabbitMq = parsed.GetValue(rabbitMq),
            PrepareConcurrency = parsed.GetValue(prepareConcurrency),
            RampRate = parsed.GetValue(rampRate),
            Peer = parsed.GetValue(peer),
            PeerDir = parsed.GetValue(peerDir),
            RelayCore = parsed.GetValue(relayCore),
            ToolCore = parsed.GetValue(toolCore),
            GcHeap = parsed.GetValue(gcHeap),
            ToolNoGcMegabytes = parsed.GetValue(toolNoGc),
            RealtimeThreads = !parsed.GetValue(ordinaryThreads),
            SharedReceiver = !parsed.GetValue(loopPerCaller) && CallerReceiver.IsSupported,
            KernelStamps = !parsed.GetValue(wakeupStamps),
            ProbeStallsSeconds = parsed.GetValue(probeStalls),
            StallThresholdMs = parsed.GetValue(stallThreshold),
        }));
        return root;
    }
}
