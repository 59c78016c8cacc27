using AstraPbx.LocalRun.Cli;
using AstraPbx.RoutingBench;

// Routing decision latency at fixed call rates on the local PostgreSQL and RabbitMQ (scripts/infra up).
// Usage: dotnet run -c Release --project tools/AstraPbx.RoutingBench -- [--rates 50,200] [--seconds 10]
return await ToolCommandLine.RateBenchmark(
    "RoutingBench: Routing's decision latency (CallEnteredStasis consumed -> command sent) at fixed call rates",
    RoutingBench.RunAsync).InvokeAsync(args);
