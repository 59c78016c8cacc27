using System.CommandLine;
using AstraPbx.Demo;
using AstraPbx.LocalRun.Cli;

// scripts/demo: the seed's call (queue 5001 times out -> 1003 -> AI bot) through the whole product, with a timeline.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

var talkSeconds = new Argument<int>("seconds") { Description = "how long the caller and the bot talk", DefaultValueFactory = _ => 5, Arity = ArgumentArity.ZeroOrOne };
var rates = ToolCommandLine.RatesArgument("rates", [1, 20, 100], 200, "new calls per second, comma-separated, each run in turn (1-200)");
var benchSeconds = new Argument<int>("seconds-per-rate") { Description = "seconds per rate (1-60)", DefaultValueFactory = _ => 5, Arity = ArgumentArity.ZeroOrOne }
    .Require(s => s is >= 1 and <= 60, "bench-setup takes 1-60 seconds");
var benchSetup = new Command("bench-setup", "call setup time through the whole product at rates of new calls (docs/benchmarks.md)")
{
    rates,
    benchSeconds,
};
benchSetup.SetAction(parsed => DemoRun.RunAsync(0, parsed.GetValue(rates)!, parsed.GetValue(benchSeconds), stop.Token));
var root = new RootCommand("The demo: the seed's call through Routing, AriIngress and MediaRelay with the Asterisk simulator and a demo bot, with its timeline")
{
    talkSeconds,
    benchSetup,
};
root.SetAction(parsed => DemoRun.RunAsync(parsed.GetValue(talkSeconds), null, 0, stop.Token));
return await root.InvokeAsync(args);
