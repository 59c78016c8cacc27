using AstraPbx.Routing;
using AstraPbx.Routing.Cli;
using AstraPbx.ServiceDefaults;
using AstraPbx.ServiceDefaults.Health;

if (HealthCommand.IsRequested(args))
{
    return await HealthCommand.RunAsync(args);
}

if (RoutingCommand.IsRequested(args))
{
    return await RoutingCommand.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
return 0;
