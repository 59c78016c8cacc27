using AstraPbx.LocalRun.Cli;

namespace AstraPbx.LoadTool;

internal static class LoadToolProgram
{
    public static Task<int> Main(string[] args) => LoadOptions.Command(options =>
        options.ProbeStallsSeconds > 0 ? StallProbe.RunAsync(options.ProbeStallsSeconds, options.StallThresholdMs) : new LoadRun(options).RunAsync()).InvokeAsync(args);
}
