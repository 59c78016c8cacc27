using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Io;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>Opens the gateway WebSocket: host names resolved once and cached (the seed lost 6 s per lookup to a slow
/// resolver), the whole connect bounded by <see cref="RelayOptions.GatewayConnectTimeout"/>, and each failure
/// classified (dns, refused, tls, timeout, handshake rejected). The HTTP/1.1 upgrade is written and read here, on the
/// connection's own stream (<see cref="WebSocketUpgrade"/>), so nothing of an HTTP client stays under the call.</summary>
public sealed class GatewayConnector
{
    private readonly ConcurrentDictionary<string, (Task<IPAddress[]> Lookup, DateTime Expires)> _dns = new(StringComparer.OrdinalIgnoreCase);
    private readonly RelayOptions _options;

    public GatewayConnector(IOptions<RelayOptions> options) => _options = options.Value;

    /// <summary>Connects to <paramref name="url"/> (already validated as ws:// or wss://): TCP through the cache, TLS for
    /// wss:// (the system's certificate validation, for the URL's host), the HTTP/1.1 upgrade, then the relay's own
    /// WebSocket (<see cref="GatewayWebSocket"/>) over the connection's stream, wrapped in a <see cref="GatewayStream"/>
    /// that runs the keep-alive.</summary>
    public async Task<GatewayConnection> ConnectAsync(Uri url, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.GatewayConnectTimeout);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        Stream? stream = null;
        try
        {
            var host = url.IdnHost;
            var addresses = await ResolveAsync(host, timeout.Token).ConfigureAwait(false);
            TickedSocketStream? ticked = null;
            if (_options.TickedGatewayReads)
            {
                var io = await SocketIo.ConnectAsync(addresses, url.Port, _options.OwnSocketWaits, timeout.Token).ConfigureAwait(false);
                stream = ticked = new TickedSocketStream(io) { HoldWritesInPass = _options.UplinkSendPass };
            }
            else
            {
                var socket = await SocketIo.ConnectThroughEngineAsync(addresses, url.Port, timeout.Token).ConfigureAwait(false);
                stream = new NetworkStream(socket, ownsSocket: true);
            }

            if (url.Scheme == "wss")
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = host }, timeout.Token).ConfigureAwait(false);
            }

            var early = await UpgradeAsync(stream, url, key, timeout.Token).ConfigureAwait(false);
            var transport = new GatewayStream(early.IsEmpty ? stream : new PrefixedStream(early, stream),
                _options.GatewayKeepAliveInterval, _options.GatewayKeepAliveTimeout)
            {
                Ticked = ticked,
            };
            return new GatewayConnection(new GatewayWebSocket(transport), transport);
        }
        catch (Exception e) when (e is not GatewayConnectException)
        {
            stream?.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            if (timeout.IsCancellationRequested)
            {
                throw new GatewayConnectException(AiSessionFailure.Timeout, $"no WebSocket within {_options.GatewayConnectTimeout.TotalSeconds:0.#} s");
            }

            throw Classify(e);
        }
        catch
        {
            stream?.Dispose();
            throw;
        }
    }

    /// <summary>Writes the upgrade request and reads the response head; returns any bytes read past it (WebSocket
    /// frames the gateway sent right behind its 101). Throws <see cref="GatewayConnectException"/> for anything but a
    /// 101 with the right <c>Sec-WebSocket-Accept</c>.</summary>
    private static async Task<ReadOnlyMemory<byte>> UpgradeAsync(Stream stream, Uri url, string key, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(WebSocketUpgrade.Request(url, key), cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(WebSocketUpgrade.MaxResponseHead);
        try
        {
            var filled = 0;
            int headLength, status;
            string? accept;
            while (!WebSocketUpgrade.TryParseResponse(buffer.AsSpan(0, filled), out headLength, out status, out accept))
            {
                if (filled == WebSocketUpgrade.MaxResponseHead)
                {
                    throw new GatewayConnectException(AiSessionFailure.HandshakeRejected, "WebSocket upgrade failed: response head too large");
                }

                var read = await stream.ReadAsync(buffer.AsMemory(filled, WebSocketUpgrade.MaxResponseHead - filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new GatewayConnectException(AiSessionFailure.HandshakeRejected, "WebSocket upgrade failed: the gateway closed the connection before its response");
                }

                filled += read;
            }

            if (status != 101)
            {
                throw new GatewayConnectException(AiSessionFailure.HandshakeRejected,
                    status == 0 ? "WebSocket upgrade failed: the response is not HTTP/1.1" : $"upgrade refused with HTTP {status}");
            }

            if (accept != WebSocketUpgrade.AcceptFor(key))
            {
                throw new GatewayConnectException(AiSessionFailure.HandshakeRejected, "WebSocket upgrade failed: no valid Sec-WebSocket-Accept");
            }

            return filled == headLength ? ReadOnlyMemory<byte>.Empty : buffer.AsSpan(headLength, filled - headLength).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static GatewayConnectException Classify(Exception e)
    {
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

        return new GatewayConnectException(AiSessionFailure.Other, e.GetType().Name);
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
}
