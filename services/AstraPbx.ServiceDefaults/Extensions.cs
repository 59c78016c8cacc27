using AstraPbx.ServiceDefaults.Telemetry;
using AstraPbx.ServiceDefaults.Warmup;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AstraPbx.ServiceDefaults;

/// <summary>Hosting every AstraPbx service shares: telemetry, health over gRPC, HTTP/2 Kestrel.</summary>
public static class Extensions
{
    /// <summary>Adds OpenTelemetry (traces, metrics, logs), ASP.NET Core health checks mapped to
    /// <c>grpc.health.v1</c>, the warm-up at start (<see cref="WarmupExtensions.AddWarmup"/>: NOT_SERVING until the
    /// service's <see cref="IWarmupStep"/>s ran), and HTTP/2 (cleartext) Kestrel endpoints. The message bus is added by
    /// <see cref="Messaging.MessageBusExtensions.AddMessageBus"/>.</summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.AddAstraPbxTelemetry();

        // gRPC without TLS needs HTTP/2 "prior knowledge": these endpoints speak HTTP/2 only.
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));

        builder.Services.AddHealthChecks();
        builder.Services.AddGrpc();
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddWarmup();
        return builder;
    }

    /// <summary>Maps <c>grpc.health.v1.Health</c> (Check and Watch), answered from the health checks.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapGrpcHealthChecksService();
        return app;
    }
}
