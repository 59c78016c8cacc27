using AstraPbx.LocalRun.Cli;

namespace AstraPbx.Fuzz;

internal static class FuzzProgram
{
    public static Task<int> Main(string[] args) => FuzzOptions.Command(options => new FuzzRun(options).RunAsync()).InvokeAsync(args);
}
