using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using AstraPbx.Contracts.Media;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>Opens the gateway WebSocket: host names resolved once and cached (the seed lost 6 s per lookup to a slow
/// resolver), the whole connect bounded by <see cref="RelayOptions.GatewayConnectTimeout"/>, and each failure
/// classified (dns, refused, tls, timeout, handshake rejected).</summary>
public sealed class GatewayConnector : IDisposable
{
    private readonly ConcurrentDictionary<string, (Task<IPAddress[]> Lookup, DateTime Expires)> _dns = new(StringComparer.OrdinalIgnoreCase);
    private readonly RelayOptions _options;
    private readonly HttpMessageInvoker _invoker;

    private static readonly HttpRequestOptionsKey<TickedSocketStream> TickedStreamKey = new("AstraPbx.TickedSocketStream");

    public GatewayConnector(IOptions<RelayOptions> options)
    {
        _options = options.Value;
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = ConnectAsync,
        });
    }

    /// <summary>Connects to <paramref name="url"/> (already validated as ws:// or wss://): the HTTP/1.1 upgrade through
    /// the shared handler (its connect callback resolves through the cache), then a WebSocket over the connection's
    /// stream, wrapped in a <see cref="GatewayStream"/> that runs the keep-alive (the runtime's own is off: see there).</summary>
    public async Task<GatewayConnection> ConnectAsync(Uri url, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.GatewayConnectTimeout);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var status = 0;
        HttpResponseMessage? response = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, HttpUri(url))
            {
                Version = HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Headers.TryAddWithoutValidation("Connection", "Upgrade");
            request.Headers.TryAddWithoutValidation("Upgrade", "websocket");
            request.Headers.TryAddWithoutValidation("Sec-WebSocket-Version", "13");
            request.Headers.TryAddWithoutValidation("Sec-WebSocket-Key", key);
            response = await _invoker.SendAsync(request, timeout.Token).ConfigureAwait(false);
            status = (int)response.StatusCode;
            if (response.StatusCode != HttpStatusCode.SwitchingProtocols)
            {
                throw new GatewayConnectException(AiSessionFailure.HandshakeRejected, $"upgrade refused with HTTP {status}");
            }

            if (!response.Headers.TryGetValues("Sec-WebSocket-Accept", out var accept) || accept.SingleOrDefault() != AcceptFor(key))
            {
                throw new GatewayConnectException(AiSessionFailure.HandshakeRejected, "WebSocket upgrade failed: no valid Sec-WebSocket-Accept");
            }

            // Not disposed on success: disposing the response closes the upgraded connection's stream.
            var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            var transport = new GatewayStream(stream, _options.GatewayKeepAliveInterval, _options.GatewayKeepAliveTimeout)
            {
                Ticked = request.Options.TryGetValue(TickedStreamKey, out var ticked) ? ticked : null,
            };
            var socket = WebSocket.CreateFromStream(transport, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
            return new GatewayConnection(socket, transport);
        }
        catch (Exception e) when (e is not GatewayConnectException)
        {
            response?.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            if (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new GatewayConnectException(AiSessionFailure.Timeout, $"no WebSocket within {_options.GatewayConnectTimeout.TotalSeconds:0.#} s");
            }

            throw Classify(e, status);
        }
        catch
        {
            response?.Dispose();
            throw;
        }
    }

    private static Uri HttpUri(Uri url) => new UriBuilder(url) { Scheme = url.Scheme == "wss" ? Uri.UriSchemeHttps : Uri.UriSchemeHttp }.Uri;

    /// <summary>RFC 6455 4.2.2: base64(SHA-1(key + the protocol's GUID)).</summary>
    internal static string AcceptFor(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));

    private static GatewayConnectException Classify(Exception e, int status)
    {
        if (status != 0 && status != 101)
        {
            return new GatewayConnectException(AiSessionFailure.HandshakeRejected, $"upgrade refused with HTTP {status}");
        }

        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case GatewayConnectException known:
                    return known;
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                    return new GatewayConnectException(AiSessionFailure.Refused, "connection refused");
                case SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain }:
                    return new GatewayConnectException(AiSessionFailure.Dns, "host name did not resolve");
                case AuthenticationException:
                    return new GatewayConnectException(AiSessionFailure.Tls, "TLS handshake failed: " + inner.Message);
                case SocketException socket:
                    return new GatewayConnectException(AiSessionFailure.Other, "socket error " + socket.SocketErrorCode);
            }
        }

        // The upgrade got an answer that was not a WebSocket (closed early, bad headers).
        return e is WebSocketException
            ? new GatewayConnectException(AiSessionFailure.HandshakeRejected, "WebSocket upgrade failed: " + e.GetType().Name)
            : new GatewayConnectException(AiSessionFailure.Other, e.GetType().Name);
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = await ResolveAsync(context.DnsEndPoint.Host, cancellationToken).ConfigureAwait(false);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
            if (!_options.TickedGatewayReads)
            {
                return new NetworkStream(socket, ownsSocket: true);
            }

            // The upgrade's request carries the stream back to ConnectAsync(Uri), which hands it to the session.
            var ticked = new TickedSocketStream(socket);
            context.InitialRequestMessage.Options.Set(TickedStreamKey, ticked);
            return ticked;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The host's addresses, from the cache while fresh. One lookup in flight per host; a failed lookup is
    /// not cached.</summary>
    internal async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            return [literal];
        }

        var now = DateTime.UtcNow;
        var entry = _dns.AddOrUpdate(
            host,
            h => (Dns.GetHostAddressesAsync(h), now + _options.DnsCacheTtl),
            (h, old) => old.Expires > now && !old.Lookup.IsFaulted ? old : (Dns.GetHostAddressesAsync(h), now + _options.DnsCacheTtl));
        try
        {
            var addresses = await entry.Lookup.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (addresses.Length == 0)
            {
                throw new GatewayConnectException(AiSessionFailure.Dns, "host name has no addresses");
            }

            return addresses;
        }
        catch (SocketException)
        {
            throw new GatewayConnectException(AiSessionFailure.Dns, "host name did not resolve");
        }
    }

    public void Dispose() => _invoker.Dispose();
}
