using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>Where this relay listens, known once bound (port 0 resolves to the real port): the AudioSocket endpoint
/// (<see cref="AudioSocketListener"/>), the address advertised to Asterisk, and the HTTP/2 (gRPC) endpoints.</summary>
public sealed class RelayEndpoints(IOptions<RelayOptions> options)
{
    private readonly List<ListenOptions> _http = [];
    private IPEndPoint? _audioSocket;
    private volatile bool _listening;

    internal void SetAudioSocket(IPEndPoint bound) => _audioSocket = bound;

    internal void AddHttp(ListenOptions listen) => _http.Add(listen);

    internal void SetListening(bool listening) => _listening = listening;

    /// <summary>True while the AudioSocket listener is bound and the relay not stopping.</summary>
    public bool Listening => _listening;

    /// <summary>The bound AudioSocket endpoint.</summary>
    public IPEndPoint AudioSocket =>
        _audioSocket ?? throw new InvalidOperationException("The AudioSocket listener is not configured.");

    /// <summary>The <c>host:port</c> Asterisk dials (<c>Relay:AdvertisedEndpoint</c>, or the bound listener).</summary>
    public string Advertised =>
        string.IsNullOrWhiteSpace(options.Value.AdvertisedEndpoint)
            ? FormatHostPort(AudioSocket)
            : options.Value.AdvertisedEndpoint!;

    /// <summary>The bound HTTP/2 endpoints (gRPC health and admin), as <c>http://host:port</c>.</summary>
    public IReadOnlyList<Uri> Http => _http.ConvertAll(l => new Uri($"http://{FormatHostPort(l.IPEndPoint!)}"));

    private static string FormatHostPort(IPEndPoint endpoint) =>
        endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{endpoint.Address}]:{endpoint.Port}"
            : $"{endpoint.Address}:{endpoint.Port}";
}
