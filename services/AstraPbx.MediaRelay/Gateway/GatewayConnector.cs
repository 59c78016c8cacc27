using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;
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

    public GatewayConnector(IOptions<RelayOptions> options)
    {
        _options = options.Value;
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = ConnectAsync,
        });
    }

    /// <summary>Connects to <paramref name="url"/> (already validated as ws:// or wss://).</summary>
    public async Task<ClientWebSocket> ConnectAsync(Uri url, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.GatewayConnectTimeout);
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        // Ping/pong with a timeout (not unsolicited pongs): a partitioned bot aborts the socket, and the session ends as
        // gateway-keepalive-timeout instead of leaving the caller in silence.
        socket.Options.KeepAliveInterval = _options.GatewayKeepAliveInterval;
        socket.Options.KeepAliveTimeout = _options.GatewayKeepAliveTimeout;
        try
        {
            await socket.ConnectAsync(url, _invoker, timeout.Token).ConfigureAwait(false);
            // The upgrade's headers are kept only to classify a failed connect: a live session need not hold them.
            socket.HttpResponseHeaders = null;
            return socket;
        }
        catch (Exception e) when (e is not GatewayConnectException)
        {
            var status = (int)socket.HttpStatusCode;
            socket.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            if (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new GatewayConnectException(AiSessionFailure.Timeout, $"no WebSocket within {_options.GatewayConnectTimeout.TotalSeconds:0.#} s");
            }

            throw Classify(e, status);
        }
    }

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
            return new NetworkStream(socket, ownsSocket: true);
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
