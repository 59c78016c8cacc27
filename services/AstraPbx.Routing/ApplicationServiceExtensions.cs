using AstraPbx.Contracts.Media;
using AstraPbx.Routing.CallRecords;
using AstraPbx.Routing.Consumers;
using AstraPbx.Routing.Data;
using AstraPbx.Routing.Hosting;
using AstraPbx.Routing.Orchestration;
using AstraPbx.Routing.Resolution;
using AstraPbx.Routing.Warmup;
using AstraPbx.ServiceDefaults.Warmup;
using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry.Trace;

namespace AstraPbx.Routing;

public static class ApplicationServiceExtensions
{
    /// <summary>Everything the Routing service is made of, on top of the service defaults.</summary>
    public static WebApplicationBuilder AddApplicationServices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<PostgresOptions>()
            .Configure<IConfiguration>((o, c) => o.ConnectionString = c[PostgresOptions.ConnectionStringKey])
            .ValidateOnStart();
        builder.Services.AddOptions<RoutingOptions>()
            .BindConfiguration(RoutingOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddRoutingServices();
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddNpgsql());

        // Registered before the bus so that the schema exists before the first message is consumed.
        builder.Services.AddHostedService<MigrationService>();
        builder.AddMessageBus(x => x.AddRoutingConsumers());
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>(DatabaseHealthCheck.Name);
        builder.Services.AddWarmupStep<RoutingPathWarmup>().AddWarmupStep<RoutingBusWarmup>();
        return builder;
    }

    /// <summary>The decision classes and the database, without the bus: for the service, the tests and the bench.
    /// Needs <see cref="PostgresOptions"/> and <see cref="RoutingOptions"/> configured, and the bus's
    /// <see cref="IOutboundPublisher"/> (<see cref="MessageBusExtensions.AddMessageBus"/>).</summary>
    public static IServiceCollection AddRoutingServices(this IServiceCollection services)
    {
        services.AddSingleton<IValidateOptions<PostgresOptions>, PostgresOptionsValidator>();
        services.AddSingleton(sp => new NpgsqlDataSourceBuilder(sp.GetRequiredService<IOptions<PostgresOptions>>().Value.ConnectionString).Build());
        services.AddSingleton<RoutingRepository>();
        services.AddSingleton<RouteResolver>();
        services.AddSingleton<CallRecordStore>();
        services.AddSingleton<StasisClaimStore>();
        services.AddSingleton<RoutingMetrics>();
        services.AddSingleton<SchemaState>();
        services.AddSingleton<RoutingInstance>();
        services.AddSingleton<DatabaseGuard>();
        services.AddSingleton<DatabaselessFallbacks>();
        services.AddSingleton<RelayCapacityView>();
        services.AddSingleton(TimeProvider.System);
        services.AddScoped<AiSessionStarter>();
        services.AddScoped<DatabaselessRouter>();
        services.AddScoped<CallRouter>();
        return services;
    }

    /// <summary>Routing's consumers and its <see cref="StartAiSession"/> request client (publish-based: the relays
    /// consume it on their <c>start-ai-session</c> queue).</summary>
    public static IBusRegistrationConfigurator AddRoutingConsumers(this IBusRegistrationConfigurator x)
    {
        x.AddConsumer<CallEnteredStasisConsumer, CallEnteredStasisConsumerDefinition>();
        x.AddConsumer<CallEndedConsumer, CallEndedConsumerDefinition>();
        x.AddConsumer<AiSessionEndedConsumer, AiSessionEndedConsumerDefinition>();
        x.AddConsumer<FallbackTakenConsumer, FallbackTakenConsumerDefinition>();
        x.AddConsumer<RelayCapacityConsumer>().Endpoint(e =>
        {
            e.Name = "relay-capacity";
            e.InstanceId = Guid.NewGuid().ToString("N")[..12];
            e.Temporary = true;
        });
        x.AddRequestClient<StartAiSession>();
        return x;
    }
}
