using System.Net;
using System.Net.Sockets;

namespace AstraPbx.LocalRun.Faults;

/// <summary>An AI gateway that accepts TCP and never answers (no WebSocket handshake): a relay asked for a session with
/// it waits until its connect timeout, so Routing sits waiting on <c>StartAiSession</c>, between its claim and its
/// command. Each accepted connection tells the fault suite that one such wait has begun.</summary>
public sealed class SilentGateway : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly List<TcpClient> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    /// <summary>Released once per accepted connection, so a waiter wakes up to count again.</summary>
    private readonly SemaphoreSlim _acceptedSignal = new(0);
    private int _accepted;

    private SilentGateway()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public static SilentGateway Start() => new();

    public int Port { get; }

    /// <summary>A gateway URL Routing accepts (<c>ws://</c>, no key) that leads here.</summary>
    public string Url => $"ws://127.0.0.1:{Port}/ws/org-1/silent-bot";

    /// <summary>Connections accepted since start.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Waits until at least <paramref name="total"/> connections have been accepted since start; false when
    /// <paramref name="timeout"/> passes first.</summary>
    public async Task<bool> WaitForAcceptedAsync(int total, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            while (Accepted < total)
            {
                await _acceptedSignal.WaitAsync(limit.Token).ConfigureAwait(false);
            }

            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_held)
            {
                // Held open and never read: the peer's handshake gets no answer until it gives up.
                _held.Add(client);
            }

            Interlocked.Increment(ref _accepted);
            _acceptedSignal.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        lock (_held)
        {
            foreach (var client in _held)
            {
                client.Dispose();
            }

            _held.Clear();
        }

        _stop.Dispose();
        _acceptedSignal.Dispose();
    }
}
