using System.CommandLine;
using AstraPbx.LocalRun.Cli;
using AstraPbx.RoutingBench;

// Routing decision latency at fixed call rates on the local PostgreSQL and RabbitMQ (scripts/infra up).
// Usage: dotnet run -c Release --project tools/AstraPbx.RoutingBench -- [--rates 50,200] [--seconds 10]
var rates = ToolCommandLine.Rates("--rates", [50, 200], 1000, "calls per second, comma-separated, each run in turn (1-1000)");
var seconds = ToolCommandLine.NewOption("--seconds", 10, "seconds per rate (1-60)", "S")
    .Require(s => s is >= 1 and <= 60, "--seconds must be 1-60");
var root = new RootCommand("RoutingBench: Routing's decision latency (CallEnteredStasis consumed -> command sent) at fixed call rates")
{
    rates,
    seconds,
};
root.SetAction(parsed => RoutingBench.RunAsync(parsed.GetValue(rates)!, parsed.GetValue(seconds)));
return await root.InvokeAsync(args);
