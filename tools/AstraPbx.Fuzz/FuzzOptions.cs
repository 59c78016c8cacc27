using System.CommandLine;
using AstraPbx.LocalRun.Cli;

namespace AstraPbx.Fuzz;

/// <summary>The fuzz tool's command line. Bounded by design: it stops by itself at its input count or time limit.</summary>
internal sealed class FuzzOptions
{
    public static readonly string[] TargetNames = ["admission", "caller", "gateway"];

    public long Inputs { get; private init; } = 100_000;

    public int Seconds { get; private init; } = 900;

    public string Target { get; private init; } = "all";

    public ulong Seed { get; private init; }

    public int Threads { get; private init; } = Environment.ProcessorCount;

    public double InputTimeoutSeconds { get; private init; } = 10;

    public long? Replay { get; private init; }

    public bool Relay { get; private init; } = true;

    public int RelaySessions { get; private init; } = 4;

    public string? RabbitMq { get; private init; }

    public static RootCommand Command(Func<FuzzOptions, Task<int>> run)
    {
        var defaults = new FuzzOptions();
        var inputs = ToolCommandLine.NewOption("--inputs", defaults.Inputs, "inputs per in-process target (at most 100,000,000)", "N")
            .Require(v => v is >= 1 and <= 100_000_000, "--inputs must be 1-100000000");
        var seconds = ToolCommandLine.NewOption("--seconds", defaults.Seconds, "time limit of the whole run (at most 3600)", "S")
            .Require(v => v is >= 1 and <= 3600, "--seconds must be 1-3600");
        var target = ToolCommandLine.NewOption("--target", defaults.Target, "all, admission, caller or gateway", "T")
            .Require(v => v == "all" || Array.IndexOf(TargetNames, v) >= 0, "--target must be all, admission, caller or gateway");
        var seed = new Option<ulong?>("--seed") { Description = "the run's seed (default: random, printed)", HelpName = "N" };
        var threads = ToolCommandLine.NewOption("--threads", defaults.Threads, "worker threads per in-process target", "N")
            .Require(v => v is >= 1 and <= 64, "--threads must be 1-64");
        var timeout = ToolCommandLine.NewOption("--input-timeout", defaults.InputTimeoutSeconds, "seconds after which one input is a hang", "S")
            .Require(v => v is > 0 and <= 600, "--input-timeout must be 0-600 s");
        var replay = new Option<long?>("--replay") { Description = "run only input N of --target with --seed, and print it", HelpName = "N" };
        var noRelay = new Option<bool>("--no-relay") { Description = "skip the real relay (the parallel call and the inputs over sockets)" };
        var sessions = ToolCommandLine.NewOption("--relay-sessions", defaults.RelaySessions, "fuzz sessions at once on the real relay", "N")
            .Require(v => v is >= 1 and <= 64, "--relay-sessions must be 1-64");
        var rabbitMq = new Option<string?>("--rabbitmq") { Description = "broker for the real relay (default ASTRAPBX_RABBITMQ, then .infra/env)", HelpName = "AMQP_URL" };
        var root = new RootCommand("Fuzzes the relay's admission path, caller leg and gateway codec; a real relay carries a parallel call meanwhile.")
        {
            inputs, seconds, target, seed, threads, timeout, replay, noRelay, sessions, rabbitMq,
        };
        root.SetAction(parsed => run(new FuzzOptions
        {
            Inputs = parsed.GetValue(inputs),
            Seconds = parsed.GetValue(seconds),
            Target = parsed.GetValue(target)!,
            Seed = parsed.GetValue(seed) ?? (ulong)Random.Shared.NextInt64(1, long.MaxValue),
            Threads = parsed.GetValue(threads),
            InputTimeoutSeconds = parsed.GetValue(timeout),
            Replay = parsed.GetValue(replay),
            Relay = !parsed.GetValue(noRelay),
            RelaySessions = parsed.GetValue(sessions),
            RabbitMq = parsed.GetValue(rabbitMq),
        }));
        return root;
    }
}
