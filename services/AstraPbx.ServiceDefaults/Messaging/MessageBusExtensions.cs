using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>MassTransit on RabbitMQ, the same way in every service.</summary>
public static class MessageBusExtensions
{
    /// <summary>Adds MassTransit on RabbitMQ from <c>ConnectionStrings:rabbitmq</c>, with kebab-case endpoint
    /// names, publisher confirms, endpoints configured from the registered consumers, and the bus's health
    /// in the service's health checks; reconnect attempts capped (<see cref="BrokerReconnect"/>), a short heartbeat
    /// and connect timeout, and the <see cref="IOutboundPublisher"/> (settings: <see cref="MessagingOptions"/>).
    /// <paramref name="configure"/> registers consumers and request clients; <paramref name="configureBus"/> adds
    /// transport-level settings.</summary>
    public static IHostApplicationBuilder AddMessageBus(
        this IHostApplicationBuilder builder,
        Action<IBusRegistrationConfigurator>? configure = null,
        Action<IBusRegistrationContext, IRabbitMqBusFactoryConfigurator>? configureBus = null)
    {
        builder.Services.AddOptions<RabbitMqOptions>()
            .Configure<IConfiguration>((o, c) => o.ConnectionString = c[RabbitMqOptions.ConnectionStringKey])
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RabbitMqOptions>, RabbitMqOptionsValidator>();

        builder.Services.AddOptions<MessagingOptions>()
            .Bind(builder.Configuration.GetSection(MessagingOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddMetrics();
        builder.Services.AddSingleton<BusStarted>();
        builder.Services.AddSingleton<Warmup.BusWarmup>();
        builder.Services.AddSingleton<BrokerReconnect>();
        builder.Services.AddSingleton<OutboundQueue>();
        builder.Services.AddSingleton<IOutboundPublisher>(services => services.GetRequiredService<OutboundQueue>());
        builder.Services.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            x.AddBusObserver(services => services.GetRequiredService<BusStarted>());
            configure?.Invoke(x);
            x.UsingRabbitMq((context, cfg) =>
            {
                var address = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value.Address;
                var messaging = context.GetRequiredService<IOptions<MessagingOptions>>().Value;
                cfg.Host(address.Host, (ushort)address.Port, address.VirtualHost, h =>
                {
                    h.Username(address.Username);
                    h.Password(address.Password);
                    h.PublisherConfirmation = true;
                    h.Heartbeat(messaging.Heartbeat);
                    h.RequestedConnectionTimeout(messaging.ConnectionTimeout);
                    if (address.UseTls)
                    {
                        h.UseSsl(s => s.ServerName = address.Host);
                    }
                });
                context.GetRequiredService<BrokerReconnect>().Apply(cfg, messaging.ReconnectMaxInterval);
                configureBus?.Invoke(context, cfg);
                cfg.ConfigureEndpoints(context);
            });
        });

        // After AddMassTransit, whose hosted service is registered first: hosted services stop in reverse order, so the
        // queue drains while the bus still runs.
        builder.Services.AddHostedService(services => services.GetRequiredService<OutboundQueue>());
        // Also after it: the bus warm-up's temporary endpoints are removed before the bus stops.
        builder.Services.AddHostedService<Warmup.BusWarmupStop>();

        builder.Services.AddSingleton<Health.PausedEndpoints>();
        builder.Services.AddHealthChecks().AddCheck<Health.BusHealthCheck>(Health.BusHealthCheck.Name);

        // Start even when the broker is down: health says NOT_SERVING until the bus connects.
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = false;
            o.StopTimeout = TimeSpan.FromSeconds(30);
        });
        return builder;
    }
}
