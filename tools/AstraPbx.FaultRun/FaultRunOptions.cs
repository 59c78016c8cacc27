using System.CommandLine;
using AstraPbx.LocalRun.Cli;
using AstraPbx.LocalRun.Faults;

namespace AstraPbx.FaultRun;

/// <summary>Command line of the fault runner. Every option is bounded: the runner stops by itself.</summary>
internal sealed class FaultRunOptions
{
    public int Calls { get; private init; } = 8;

    public IReadOnlyList<FaultScenario> Scenarios { get; private init; } = FaultScenario.All;

    public double ScenarioTimeoutSeconds { get; private init; } = 300;

    public double SettleSeconds { get; private init; } = 60;

    public double? EdgeFallbackAfterSeconds { get; private init; }

    public double? StartSessionTimeoutSeconds { get; private init; }

    public string? LogFolder { get; private init; }

    public static RootCommand Command(Func<FaultRunOptions, Task<int>> run)
    {
        var defaults = new FaultRunOptions();
        var names = string.Join('|', FaultScenario.All.Select(s => s.Name));
        var calls = ToolCommandLine.NewOption("--calls", defaults.Calls, "calls placed per fault (1-100)", "N")
            .Require(v => v is >= 1 and <= 100, "--calls must be 1-100");
        var fault = ToolCommandLine.NewOption("--fault", "all", $"which fault: all (every one, after a baseline) or {names}", "NAME")
            .Require(v => v == "all" || FaultScenario.Find(v) is not null, $"--fault must be all or one of {names}");
        var timeout = ToolCommandLine.NewOption("--scenario-timeout", defaults.ScenarioTimeoutSeconds, "hard limit per fault, seconds (30-900)", "S")
            .Require(v => v is >= 30 and <= 900, "--scenario-timeout must be 30-900 s");
        var settle = ToolCommandLine.NewOption("--settle", defaults.SettleSeconds, "wait for the call records after the last hangup, seconds (0-300)", "S")
            .Require(v => v is >= 0 and <= 300, "--settle must be 0-300 s");
        var edge = new Option<double?>("--edge-fallback-after") { Description = "the ingress's Ari:EdgeFallbackAfter, seconds (default: the ingress's own)", HelpName = "S" }
            .Require(v => v is > 0 and <= 120, "--edge-fallback-after must be 0-120 s");
        var session = new Option<double?>("--start-session-timeout") { Description = "Routing's StartSessionTimeout, seconds (default: Routing's own)", HelpName = "S" }
            .Require(v => v is > 0 and <= 60, "--start-session-timeout must be 0-60 s");
        var logs = new Option<string?>("--logs") { Description = "folder for every process's output (default .infra/fault-run-logs)", HelpName = "DIR" };
        var root = new RootCommand("""
            AstraPbx fault runner (issue 11): starts the product on a private RabbitMQ and PostgreSQL (scripts/infra with
            ASTRAPBX_INFRA_DIR, loopback, free ports), injects each call-control fault for real and counts every call:
            stranded (answered, nothing within 10 s), lost (no record with decision and hangup), time from fault to
            fallback. Prints a markdown table. Exit 0: every row met the target (0 stranded, 0 lost); 1: some did not.
            """)
        {
            calls, fault, timeout, settle, edge, session, logs,
        };
        root.SetAction(parsed => run(new FaultRunOptions
        {
            Calls = parsed.GetValue(calls),
            Scenarios = parsed.GetValue(fault) is "all" or null ? FaultScenario.All : [FaultScenario.Find(parsed.GetValue(fault)!)!],
            ScenarioTimeoutSeconds = parsed.GetValue(timeout),
            SettleSeconds = parsed.GetValue(settle),
            EdgeFallbackAfterSeconds = parsed.GetValue(edge),
            StartSessionTimeoutSeconds = parsed.GetValue(session),
            LogFolder = parsed.GetValue(logs),
        }));
        return root;
    }
}
