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
    /// in the service's health checks. <paramref name="configure"/> registers consumers and request clients;
    /// <paramref name="configureBus"/> adds transport-level settings.</summary>
    public static IHostApplicationBuilder AddMessageBus(
        this IHostApplicationBuilder builder,
        Action<IBusRegistrationConfigurator>? configure = null,
        Action<IBusRegistrationContext, IRabbitMqBusFactoryConfigurator>? configureBus = null)
    {
        builder.Services.AddOptions<RabbitMqOptions>()
            .Configure<IConfiguration>((o, c) => o.ConnectionString = c[RabbitMqOptions.ConnectionStringKey])
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RabbitMqOptions>, RabbitMqOptionsValidator>();

        builder.Services.AddSingleton<BusStarted>();
        builder.Services.AddSingleton<OutboundQueue>();
        builder.Services.AddSingleton<IOutboundPublisher>(services => services.GetRequiredService<OutboundQueue>());
        builder.Services.AddHostedService(services => services.GetRequiredService<OutboundQueue>());
        builder.Services.AddMassTransit(x =>
        {
            x.SetKebabCaseEndpointNameFormatter();
            x.AddBusObserver(services => services.GetRequiredService<BusStarted>());
            configure?.Invoke(x);
            x.UsingRabbitMq((context, cfg) =>
            {
                var address = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value.Address;
                cfg.Host(address.Host, (ushort)address.Port, address.VirtualHost, h =>
                {
                    h.Username(address.Username);
                    h.Password(address.Password);
                    h.PublisherConfirmation = true;
                    if (address.UseTls)
                    {
                        h.UseSsl(s => s.ServerName = address.Host);
                    }
                });
                configureBus?.Invoke(context, cfg);
                cfg.ConfigureEndpoints(context);
            });
        });

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
