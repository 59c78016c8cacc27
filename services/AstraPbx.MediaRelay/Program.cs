using AstraPbx.MediaRelay;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.ServiceDefaults;

// Before any socket exists: the runtime reads this setting once (Hosting/InlineIo.cs).
InlineIo.EnableSocketCompletions();
return await ServiceHost.RunAsync(args, builder => builder.AddApplicationServices(), app => app.MapApplicationEndpoints());
