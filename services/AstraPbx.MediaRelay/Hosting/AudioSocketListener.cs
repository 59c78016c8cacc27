using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>The AudioSocket TCP listener: accepts Asterisk's connections and hands each, as a <see cref="CallerConnection"/>,
/// to the <see cref="AudioSocketConnectionHandler"/>. The relay owns these sockets (rather than Kestrel) so that a claimed
/// session's playout tick can read its connection (<see cref="RelayOptions.TickedCallerReads"/>). Bound when the host
/// starts, before the bus (a <c>StartAiSession</c> answer names this endpoint); closed when the host stops, after the
/// drain.</summary>
internal sealed class AudioSocketListener(
    AudioSocketConnectionHandler handler,
    RelayEndpoints endpoints,
    IOptions<RelayOptions> options,
    ILogger<AudioSocketListener> logger) : BackgroundService
{
    private readonly HashSet<Task> _connections = [];
    private Socket? _listener;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var relay = options.Value;
        var listener = new Socket(relay.ListenIp.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (relay.ListenIp.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }

            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(new IPEndPoint(relay.ListenIp, relay.AudioSocketPort));
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        endpoints.SetAudioSocket((IPEndPoint)listener.LocalEndPoint!);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener!;
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e)
            {
                // One failed accept (the peer reset it while queued, or file descriptors ran out) ends only that one.
                MediaRelayLog.AcceptFailed(logger, e.SocketErrorCode.ToString());
                continue;
            }

            // Each connection starts without the host's execution context: captured by its loops, it would be restored
            // around every step of the caller leg (one per frame from Asterisk) for the whole call.
            Task handling;
            using (ExecutionContext.SuppressFlow())
            {
                handling = Task.Run(() => HandleAsync(socket));
            }

            Track(handling);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _listener?.Dispose();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        Task[] left;
        lock (_connections)
        {
            left = [.. _connections];
        }

        // The drain ended every session before the host got here; the connections are closing.
        await Task.WhenAll(left).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _listener?.Dispose();
        base.Dispose();
    }

    private async Task HandleAsync(Socket socket)
    {
        CallerConnection connection;
        try
        {
            connection = new CallerConnection(socket, options.Value.OwnSocketWaits);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            socket.Dispose();
            return;
        }

        await using (connection.ConfigureAwait(false))
        {
            try
            {
                await handler.HandleAsync(connection).ConfigureAwait(false);

                // The handler may return inline on a playout tick (the tick's read saw Asterisk close); the connection
                // closes off that thread.
                await Task.Yield();
            }
            catch (Exception e)
            {
                MediaRelayLog.ConnectionFailed(logger, e, connection.ConnectionId);
                connection.Reset();
            }
        }
    }

    private void Track(Task connection)
    {
        lock (_connections)
        {
            _connections.Add(connection);
        }

        _ = connection.ContinueWith(
            t =>
            {
                lock (_connections)
                {
                    _connections.Remove(t);
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
