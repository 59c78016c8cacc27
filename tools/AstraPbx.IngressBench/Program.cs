using AstraPbx.IngressBench;
using AstraPbx.LocalRun.Cli;

// IngressBench: new calls per second into the AriIngress from the Asterisk simulator on the real broker; see
// IngressBenchRun and docs/benchmarks.md. Loopback only, bounded: --rates 50,200 --seconds 10 (defaults).
return await ToolCommandLine.RateBenchmark(
    "IngressBench: StasisStart to answer and to CallEnteredStasis confirmed, at fixed rates of new calls",
    IngressBenchRun.RunAsync).InvokeAsync(args);
