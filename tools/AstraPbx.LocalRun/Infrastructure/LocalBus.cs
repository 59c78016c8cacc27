using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AstraPbx.LocalRun.Infrastructure;

/// <summary>A bus wired exactly as the services wire theirs (<see cref="MessageBusExtensions.AddMessageBus"/>),
/// started and connected, for tools and tests that publish or consume over the real broker.</summary>
public class LocalBus : IAsyncDisposable
{
    private readonly IHost _host;

    protected LocalBus(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public IBus Bus => _host.Services.GetRequiredService<IBus>();

    public static async Task<LocalBus> StartAsync(string connectionString, Action<IBusRegistrationConfigurator>? configure = null, Action<IServiceCollection>? services = null) =>
        new(await StartHostAsync(connectionString, configure, services).ConfigureAwait(false));

    /// <summary>Builds and starts the bus's host; returns once the bus is connected.</summary>
    protected static async Task<IHost> StartHostAsync(string connectionString, Action<IBusRegistrationConfigurator>? configure, Action<IServiceCollection>? services)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration[RabbitMqOptions.ConnectionStringKey] = connectionString;
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddMessageBus(configure);
        builder.Services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = true;
            o.StartTimeout = TimeSpan.FromSeconds(60);
        });
        services?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync().ConfigureAwait(false);
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
        _host.Dispose();
        GC.SuppressFinalize(this);
    }
}
