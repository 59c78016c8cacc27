using System.Net.Http.Headers;
using System.Text;
using AstraPbx.AriIngress.Ari;
using AstraPbx.AriIngress.Calls;
using AstraPbx.AriIngress.Consumers;
using AstraPbx.AriIngress.Hosting;
using AstraPbx.AriIngress.Warmup;
using AstraPbx.ServiceDefaults.Warmup;
using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Instrumentation.Http;

namespace AstraPbx.AriIngress;

public static class ApplicationServiceExtensions
{
    /// <summary>Everything the AriIngress service is made of, on top of the service defaults: the ARI client and events
    /// socket (section <c>Ari</c>), the call coordinator and its parts, and the command consumers on this Asterisk's own queue.</summary>
    public static WebApplicationBuilder AddApplicationServices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AriOptions>()
            .BindConfiguration(AriOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddHttpClient<AriClient>((services, http) =>
            {
                var options = services.GetRequiredService<IOptions<AriOptions>>().Value;
                http.BaseAddress = options.RestRoot;
                http.Timeout = options.RequestTimeout;

                // Credentials go in a header only: URLs end up in spans and logs.
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                    Convert.ToBase64String(Encoding.UTF8.GetBytes(options.Username + ":" + options.Password)));
            })
            .RemoveAllLoggers();

        // The HttpClient span of each ARI request carries the call id it is about.
        builder.Services.Configure<HttpClientTraceInstrumentationOptions>(o =>
        {
            var previous = o.EnrichWithHttpRequestMessage;
            o.EnrichWithHttpRequestMessage = (activity, request) =>
            {
                previous?.Invoke(activity, request);
                if (request.Options.TryGetValue(AriClient.CallIdOption, out var callId))
                {
                    activity.SetTag(AriIngressTelemetry.CallIdTag, callId);
                }
            };
        });

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<AriConnection>();
        builder.Services.AddSingleton<CallTable>();
        builder.Services.AddSingleton<CallEndPublisher>();
        builder.Services.AddSingleton<EdgeFallback>();
        builder.Services.AddSingleton<StasisEntryHandler>();
        builder.Services.AddSingleton<CallResync>();
        builder.Services.AddSingleton<CallCommands>();
        builder.Services.AddSingleton<IAriEventHandler, CallCoordinator>();
        builder.Services.AddHealthChecks().AddCheck<AriHealthCheck>(AriHealthCheck.Name);
        builder.Services.AddWarmupStep<AriPathWarmup>().AddWarmupStep<IngressCallWarmup>().AddWarmupStep<IngressBusWarmup>()
            .AddWarmupStep<AriConnectionsWarmup>();

        builder.AddMessageBus(x =>
        {
            x.AddConsumer<ConnectToRelayConsumer, ConnectToRelayConsumerDefinition>().ExcludeFromConfigureEndpoints();
            x.AddConsumer<ContinueInDialplanConsumer, ContinueInDialplanConsumerDefinition>().ExcludeFromConfigureEndpoints();
            x.AddConsumer<HangupCallConsumer, HangupCallConsumerDefinition>().ExcludeFromConfigureEndpoints();
        });

        // After the bus: hosted services stop in reverse order, so the events socket stops (and what it queues on the
        // way out is queued) before the outbound queue drains and the bus stops.
        builder.Services.AddHostedService<AriEventSocket>();
        builder.Services.AddHostedService<CommandEndpoint>();
        return builder;
    }
}
