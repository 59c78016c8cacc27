using AstraPbx.FaultRun;
using AstraPbx.LocalRun.Cli;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

return await FaultRunOptions.Command(options => FaultRunProgram.RunAsync(options, args, stop.Token)).InvokeAsync(args);
