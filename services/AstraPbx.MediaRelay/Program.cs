using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay;
using AstraPbx.ServiceDefaults;
using AstraPbx.ServiceDefaults.Health;

if (HealthCommand.IsRequested(args))
{
    return await HealthCommand.RunAsync(args);
}

InlineIo.EnableSocketCompletions();
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapApplicationEndpoints();
await app.RunAsync();
return 0;
