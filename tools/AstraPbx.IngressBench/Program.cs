using AstraPbx.IngressBench;
using AstraPbx.LocalRun.Cli;
using System.CommandLine;

// IngressBench: new calls per second into the AriIngress from the Asterisk simulator on the real broker; see
// IngressBenchRun and docs/benchmarks.md. Loopback only, bounded: --rates 50,200 --seconds 10 (defaults).
var rates = ToolCommandLine.Rates("--rates", [50, 200], 1000, "new calls per second, comma-separated, each run in turn (1-1000)");
var seconds = ToolCommandLine.NewOption("--seconds", 10, "seconds per rate (1-60)", "S")
    .Require(s => s is >= 1 and <= 60, "--seconds must be 1-60");
var root = new RootCommand("IngressBench: StasisStart to answer and to CallEnteredStasis confirmed, at fixed rates of new calls")
{
    rates,
    seconds,
};
root.SetAction(parsed => IngressBenchRun.RunAsync(parsed.GetValue(rates)!, parsed.GetValue(seconds)));
return await root.InvokeAsync(args);
