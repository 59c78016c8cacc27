using System.Net;
using AstraPbx.MediaRelay.Admin;
using AstraPbx.MediaRelay.Capacity;
using AstraPbx.MediaRelay.Consumers;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Media.Playout;
using AstraPbx.MediaRelay.Sessions;
using AstraPbx.MediaRelay.Warmup;
using AstraPbx.ServiceDefaults.Warmup;
using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay;

public static class ApplicationServiceExtensions
{
    /// <summary>Everything the MediaRelay service is made of, on top of the service defaults: options, the AudioSocket
    /// listener beside the HTTP/2 endpoints of <c>Urls</c>, the shared playout clock, the <c>StartAiSession</c>
    /// consumer, drain, health and the admin API.</summary>
    public static WebApplicationBuilder AddApplicationServices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RelayOptions>()
            .Bind(builder.Configuration.GetSection(RelayOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddOptions<CapacityOptions>()
            .Bind(builder.Configuration.GetSection(CapacityOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.TryAddSingleton<IPlayoutDriver, ThreadPlayoutDriver>();
        builder.Services.AddSingleton<PlayoutClock>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PlayoutClock>());
        builder.Services.AddSingleton<SessionRegistry>();
        builder.Services.AddSingleton<AudioSocketConnectionHandler>();
        // Before the bus starts: a StartAiSession answer names the bound AudioSocket endpoint.
        builder.Services.AddHostedService<AudioSocketListener>();
        builder.Services.AddHostedService<SessionWatchdog>();
        builder.Services.AddSingleton<GatewayConnector>();
        builder.Services.AddSingleton<SessionPreparer>();
        builder.Services.AddSingleton<RelayEndpoints>();
        builder.Services.AddSingleton<RelayDrain>();
        builder.Services.AddSingleton<StartAiSessionEndpoint>();
        builder.Services.TryAddSingleton<CpuSampler>();
        builder.Services.AddSingleton<CapacityMonitor>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CapacityMonitor>());
        builder.Services.AddHostedService<RelayLifetime>();
        builder.Services.AddHealthChecks().AddCheck<RelayHealthCheck>(RelayHealthCheck.Name);
        builder.Services.AddWarmupStep<RelayPathWarmup>().AddWarmupStep<RelayBusWarmup>();

        // The host must outlive a drain: ApplicationStopping waits for it before the other services stop.
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<RelayOptions>>((host, relay) =>
            host.ShutdownTimeout = relay.Value.DrainTimeout + TimeSpan.FromSeconds(30));

        builder.AddMessageBus(x => x.AddConsumer<StartAiSessionConsumer, StartAiSessionConsumerDefinition>());

        // Listening on an explicit endpoint makes Kestrel ignore Urls, so the HTTP/2 endpoints of Urls are bound here too.
        var urls = (builder.Configuration["urls"] ?? "http://127.0.0.1:7103").Split(';', StringSplitOptions.RemoveEmptyEntries);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var endpoints = kestrel.ApplicationServices.GetRequiredService<RelayEndpoints>();
            var relay = kestrel.ApplicationServices.GetRequiredService<IOptions<RelayOptions>>().Value;
            foreach (var url in urls)
            {
                var address = BindingAddress.Parse(url.Trim());
                var ip = address.Host is "localhost" ? IPAddress.Loopback
                    : address.Host is "*" or "+" or "0.0.0.0" ? IPAddress.Any
                    : IPAddress.Parse(address.Host.Trim('[', ']'));
                kestrel.Listen(ip, address.Port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    endpoints.AddHttp(listen);
                });
            }

        });
        return builder;
    }

    /// <summary>Maps the relay's admin gRPC service (beside the default health endpoints).</summary>
    public static WebApplication MapApplicationEndpoints(this WebApplication app)
    {
        app.MapGrpcService<RelayAdminService>();
        return app;
    }
}
