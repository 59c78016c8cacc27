using AstraPbx.ServiceDefaults.Warmup;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AstraPbx.ServiceDefaults.Telemetry;

/// <summary>OpenTelemetry for every service: MassTransit, the service's own sources (<c>AstraPbx.*</c>),
/// HttpClient and ASP.NET Core; OTLP export when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. The warm-up's spans are
/// recorded but never exported (<see cref="WarmupSpanFilter"/>).</summary>
public static class TelemetryExtensions
{
    /// <summary>Every ActivitySource and Meter of the project is named under this prefix.</summary>
    public const string SourcePrefix = "AstraPbx.";

    public static WebApplicationBuilder AddAstraPbxTelemetry(this WebApplicationBuilder builder)
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(
                builder.Configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : builder.Environment.ApplicationName,
                serviceInstanceId: Environment.MachineName))
            .WithTracing(tracing => tracing
                // First, so that it runs before the exporters' processors (UseOtlpExporter below, a test's).
                .AddProcessor(new WarmupSpanFilter())
                .AddSource("MassTransit")
                .AddSource(SourcePrefix + "*")
                .AddAspNetCoreInstrumentation(o => o.Filter = IsNotHealthProbe)
                .AddHttpClientInstrumentation())
            .WithMetrics(metrics => metrics
                .AddMeter("MassTransit")
                .AddMeter(SourcePrefix + "*")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }

        return builder;
    }

    // Probes ask every few seconds; their spans would bury the calls' traces.
    private static bool IsNotHealthProbe(HttpContext context) =>
        !context.Request.Path.StartsWithSegments("/grpc.health.v1.Health", StringComparison.Ordinal);
}
