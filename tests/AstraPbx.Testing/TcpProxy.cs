using System.Net;
using System.Net.Sockets;

namespace AstraPbx.Testing;

/// <summary>A loopback TCP forwarder in front of a real server. <see cref="Stop"/> resets every forwarded connection
/// and then resets each new one as it arrives, so whoever is behind the proxy sees its server go away (a stopped
/// broker) without stopping the server other tests share. The listener stays bound until the proxy is disposed: a
/// port released while "stopped" could be taken by another test's server (or by the client's own connect, a TCP
/// self-connect), and the client would reach something that is not a dead broker. <see cref="Freeze"/> stops
/// forwarding without closing anything (a network partition: no FIN, no RST, the bytes just stop).</summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly List<TcpClient> _connections = [];
    private readonly CancellationTokenSource _disposed = new();
    private TcpListener? _listener;
    private CancellationTokenSource _stop = new();
    private Task _accepting = Task.CompletedTask;
    private TaskCompletionSource _thawed = NewThawed(thawed: true);
    private volatile bool _forwarding;

    public TcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
    }

    /// <summary>The proxy's own port on 127.0.0.1; stays the same across <see cref="Stop"/> and <see cref="Start"/>.</summary>
    public int Port { get; private set; }

    /// <summary>Forwards new connections (binds the port on the first call).</summary>
    public void Start()
    {
        lock (_connections)
        {
            _stop = new CancellationTokenSource();
            _forwarding = true;
        }

        if (_listener is null)
        {
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _accepting = AcceptAsync(_listener, _disposed.Token);
        }
    }

    /// <summary>Stops forwarding in both directions, keeping every connection open, until <see cref="Thaw"/>.</summary>
    public void Freeze() => Interlocked.Exchange(ref _thawed, NewThawed(thawed: false));

    /// <summary>Forwards again after <see cref="Freeze"/>.</summary>
    public void Thaw() => Volatile.Read(ref _thawed).TrySetResult();

    /// <summary>Resets every forwarded connection, and every new one until <see cref="Start"/>.</summary>
    public void Stop()
    {
        lock (_connections)
        {
            _forwarding = false;
            _stop.Cancel();
            foreach (var connection in _connections)
            {
                Reset(connection);
            }

            _connections.Clear();
        }
    }

    // Reset rather than close politely: the peer sees its server vanish, as when a broker dies.
    private static void Reset(TcpClient connection)
    {
        try
        {
            connection.Client?.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }

        connection.Dispose();
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

            CancellationToken forwarding;
            lock (_connections)
            {
                if (!_forwarding)
                {
                    Reset(inbound);
                    continue;
                }

                forwarding = _stop.Token;
            }

            _ = ForwardAsync(inbound, forwarding);
        }
    }

    private async Task ForwardAsync(TcpClient inbound, CancellationToken token)
    {
        var outbound = new TcpClient();
        lock (_connections)
        {
            if (token.IsCancellationRequested)
            {
                Reset(inbound);
                outbound.Dispose();
                return;
            }

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
        _disposed.Cancel();
        _listener?.Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
        _disposed.Dispose();
    }
}
