using AstraPbx.AriIngress;
using AstraPbx.ServiceDefaults;

return await ServiceHost.RunAsync(args, builder => builder.AddApplicationServices());
