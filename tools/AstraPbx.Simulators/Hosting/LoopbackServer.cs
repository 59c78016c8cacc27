using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AstraPbx.Simulators.Hosting;

/// <summary>A simulator's Kestrel server on 127.0.0.1 with WebSockets.</summary>
internal static class LoopbackServer
{
    /// <summary>Builds a server on <paramref name="port"/> (0: a free one), lets <paramref name="configure"/> add its
    /// pipeline, and starts it; returns the app and the port it listens on. No logging, and none of the host process's
    /// configuration: its appsettings or environment (Urls, Kestrel endpoints) must not move this server. With
    /// <paramref name="inlineTransport"/> the pipeline runs on the transport's threads (see
    /// <see cref="Gateway.FakeGatewayOptions.InlineTransport"/>).</summary>
    public static async Task<(WebApplication App, int Port)> StartAsync(
        int port, TimeSpan webSocketKeepAlive, Action<WebApplication> configure, CancellationToken cancellationToken = default,
        bool inlineTransport = false)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        if (inlineTransport)
        {
            builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxConcurrentConnections = null;
            k.Limits.MaxConcurrentUpgradedConnections = null;
        });
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = webSocketKeepAlive });
        configure(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address).Port);
    }
}
