using AstraPbx.LocalRun.Cli;

namespace AstraPbx.LoadTool;

internal static class LoadToolProgram
{
    public static Task<int> Main(string[] args) => LoadOptions.Command(options => new LoadRun(options).RunAsync()).InvokeAsync(args);
}
