using AstraPbx.Routing;
using AstraPbx.Routing.Cli;
using AstraPbx.ServiceDefaults;

return await ServiceHost.RunAsync(args, builder => builder.AddApplicationServices(), commands: [new RoutingCommand()]);
