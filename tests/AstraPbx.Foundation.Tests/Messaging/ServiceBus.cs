using System.Diagnostics.Metrics;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.Testing;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace AstraPbx.Foundation.Tests.Messaging;

/// <summary>A bus hosted as the services host theirs (<see cref="MessageBusExtensions.AddMessageBus"/> on a
/// <see cref="HostApplicationBuilder"/>, started without waiting for the broker), with its logs collected.</summary>
internal sealed class ServiceBus : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _stopped;

    private ServiceBus(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public OutboundQueue Outbound => Services.GetRequiredService<OutboundQueue>();

    public IBusControl Bus => Services.GetRequiredService<IBusControl>();

    public FakeLogCollector Logs => Services.GetFakeLogCollector();

    /// <summary>The scope of this host's meters, to tell its instruments from another host's.</summary>
    public IMeterFactory Meters => Services.GetRequiredService<IMeterFactory>();

    public static async Task<ServiceBus> StartAsync(string connectionString, IDictionary<string, string?>? settings = null,
        Action<IBusRegistrationConfigurator>? configure = null, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration[RabbitMqOptions.ConnectionStringKey] = connectionString;
        builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFakeLogging();
        builder.AddMessageBus(configure);
        services?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        return new ServiceBus(host);
    }

    /// <summary>An AMQP URL where nothing listens: a broker that is down from the start.</summary>
    public static string NoBroker() => $"amqp://guest:guest@127.0.0.1:{AstraPbx.LocalRun.ServiceProcess.FreePort()}/";

    /// <summary>Waits until every receive endpoint is connected (what the health check reports).</summary>
    public Task WaitHealthyAsync(TimeSpan timeout, string description) =>
        Eventually.Until(() => Task.FromResult(Bus.CheckHealth().Status), s => s == BusHealthStatus.Healthy, timeout, description);

    /// <summary>Log records with the event id, oldest first.</summary>
    public IReadOnlyList<FakeLogRecord> Logged(int eventId) => Logs.GetSnapshot().Where(r => r.Id.Id == eventId).ToList();

    /// <summary>Stops the host as a shutdown does (hosted services in reverse order).</summary>
    public async Task StopAsync()
    {
        _stopped = true;
        await _host.StopAsync(TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            await StopAsync();
        }

        _host.Dispose();
    }
}
