using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AstraPbx.Testing;

/// <summary>A bus wired exactly as the services wire theirs (<see cref="MessageBusExtensions.AddMessageBus"/>),
/// started and connected, for tests that publish or consume over the real broker.</summary>
public sealed class TestBus : IAsyncDisposable
{
    private readonly IHost _host;

    private TestBus(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public IBus Bus => _host.Services.GetRequiredService<IBus>();

    public static async Task<TestBus> StartAsync(string connectionString, Action<IBusRegistrationConfigurator>? configure = null, Action<IServiceCollection>? services = null)
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
        await host.StartAsync();
        return new TestBus(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(TimeSpan.FromSeconds(15));
        _host.Dispose();
    }
}
