using AstraPbx.Demo;

// scripts/demo: the seed's call (queue 5001 times out -> 1003 -> AI bot) through the whole product, with a timeline.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

return await DemoRun.RunAsync(args, stop.Token);
