using AstraPbx.MediaRelay;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay.Sessions;
using AstraPbx.ServiceDefaults;
using AstraPbx.ServiceDefaults.Messaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AstraPbx.Fuzz.Relay;

/// <summary>A MediaRelay in this process, built as its Program.cs builds it, on free loopback ports and the given broker
/// (a throwaway virtual host), its log read by a <see cref="RelayLogCapture"/>.</summary>
internal sealed class FuzzRelay : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FuzzRelay(WebApplication app, RelayUnderFuzz relay)
    {
        _app = app;
        Relay = relay;
    }

    public RelayUnderFuzz Relay { get; }

    public static async Task<FuzzRelay> StartAsync(string connectionString)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(RelayOptions).Assembly.GetName().Name,
            EnvironmentName = "Production",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            [RabbitMqOptions.ConnectionStringKey] = connectionString,
            ["Relay:AudioSocketPort"] = "0",
            ["Relay:InstanceName"] = "relay-fuzz",
            // Every fuzz session has ended by the stop; a call left over must not hold the stop for the 2 min default.
            ["Relay:DrainTimeout"] = "00:00:05",
            // The fuzz load shares the process: load-aware admission would measure it and refuse the fuzzing bots.
            ["Relay:Capacity:Enabled"] = "false",
        });
        var logs = new RelayLogCapture();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapApplicationEndpoints();
        await app.StartAsync().ConfigureAwait(false);
        var relay = new RelayUnderFuzz(app.Services.GetRequiredService<RelayEndpoints>().AudioSocket,
            app.Services.GetRequiredService<SessionPreparer>(), logs);
        return new FuzzRelay(app, relay);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _app.StopAsync(stop.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
