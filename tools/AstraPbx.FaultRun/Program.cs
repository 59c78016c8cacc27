using AstraPbx.FaultRun;
using AstraPbx.LocalRun.Cli;

// The fault table of issue 11 (docs/reliability.md): see FaultRunOptions for what it does and its bounds.
using var stop = ToolCommandLine.CancelOnCtrlC();
return await FaultRunOptions.Command(options => FaultRunProgram.RunAsync(options, args, stop.Token)).InvokeAsync(args);
