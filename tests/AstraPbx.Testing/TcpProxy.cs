using System.Net;
using System.Net.Sockets;

namespace AstraPbx.Testing;

/// <summary>A loopback TCP forwarder in front of a real server. <see cref="Stop"/> closes the listener and every
/// forwarded connection, so whoever is behind the proxy sees its server go away (a stopped broker) without
/// stopping the server other tests share. <see cref="Freeze"/> stops forwarding without closing anything (a network
/// partition: no FIN, no RST, the bytes just stop).</summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly List<TcpClient> _connections = [];
    private TcpListener? _listener;
    private CancellationTokenSource _stop = new();
    private Task _accepting = Task.CompletedTask;
    private TaskCompletionSource _thawed = NewThawed(thawed: true);

    public TcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
    }

    /// <summary>The proxy's own port on 127.0.0.1; stays the same across <see cref="Stop"/> and <see cref="Start"/>.</summary>
    public int Port { get; private set; }

    public void Start()
    {
        _stop = new CancellationTokenSource();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync(_listener, _stop.Token);
    }

    /// <summary>Stops forwarding in both directions, keeping every connection open, until <see cref="Thaw"/>.</summary>
    public void Freeze() => Interlocked.Exchange(ref _thawed, NewThawed(thawed: false));

    /// <summary>Forwards again after <see cref="Freeze"/>.</summary>
    public void Thaw() => Volatile.Read(ref _thawed).TrySetResult();

    public void Stop()
    {
        _stop.Cancel();
        _listener?.Stop();
        lock (_connections)
        {
            foreach (var connection in _connections)
            {
                try
                {
                    // Reset rather than close politely: the peer sees its server vanish, as when a broker dies.
                    connection.Client?.Close(0);
                }
                catch (ObjectDisposedException)
                {
                }

                connection.Dispose();
            }

            _connections.Clear();
        }
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await listener.AcceptTcpClientAsync(token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ForwardAsync(inbound, token);
        }
    }

    private async Task ForwardAsync(TcpClient inbound, CancellationToken token)
    {
        var outbound = new TcpClient();
        lock (_connections)
        {
            _connections.Add(inbound);
            _connections.Add(outbound);
        }

        try
        {
            await outbound.ConnectAsync(_targetHost, _targetPort, token);
            var a = CopyAsync(inbound.GetStream(), outbound.GetStream(), token);
            var b = CopyAsync(outbound.GetStream(), inbound.GetStream(), token);
            await Task.WhenAny(a, b);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            inbound.Dispose();
            outbound.Dispose();
        }
    }

    private static TaskCompletionSource NewThawed(bool thawed)
    {
        var source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (thawed)
        {
            source.SetResult();
        }

        return source;
    }

    /// <summary>Copies until the source closes; while frozen, holds what it read and reads no more.</summary>
    private async Task CopyAsync(Stream from, Stream to, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, token);
            if (read == 0)
            {
                return;
            }

            await Volatile.Read(ref _thawed).Task.WaitAsync(token);
            await to.WriteAsync(buffer.AsMemory(0, read), token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }
}
