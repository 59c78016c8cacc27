using System.Net;
using System.Net.Sockets;
using AstraPbx.MediaRelay.Io;
using AstraPbx.MediaRelay.Tests.Support;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The relay's own readiness waits (<see cref="Readiness"/>, through <see cref="SocketIo"/>) on real loopback
/// sockets: a socket costs epoll events only while someone waits on it; reads, sends and connects that must wait
/// complete when the kernel is ready; a cancelled wait, a close during a wait and a refused connect each end the way the
/// socket's own async methods would.</summary>
public sealed class SocketReadinessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static SocketIo Own(Socket socket)
    {
        var io = SocketIo.For(socket, ownWaits: true);
        Assert.NotNull(io.Waits); // Linux: the test machine and every deployment
        return io;
    }

    [Fact]
    public async Task Bytes_arriving_while_nobody_waits_cost_no_event_and_a_waiting_read_costs_one()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var io = Own(local);
        var buffer = new byte[64];

        // Armed once and done: a read that had to wait.
        var first = io.ReceiveAsync(buffer, CancellationToken.None);
        Assert.False(first.IsCompleted);
        peer.Send([1, 2, 3]);
        Assert.Equal(3, await first.AsTask().WaitAsync(Patience));
        Assert.Equal(1, io.Waits!.Events);

        // Nobody waits: fifty messages come and are read without waiting, and epoll reports none of them.
        for (var i = 0; i < 50; i++)
        {
            peer.Send([(byte)i]);
        }

        await Wait.Until(() => local.Available >= 50, "50 bytes queued on the socket");
        var received = 0;
        while (received < 50)
        {
            var read = io.ReceiveAsync(buffer, CancellationToken.None);
            Assert.True(read.IsCompleted, "bytes already queued are read without a wait");
            received += await read;
        }

        Assert.Equal(1, io.Waits.Events);
    }

    [Fact]
    public async Task A_send_that_finds_the_buffer_full_waits_until_the_peer_reads()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        local.SendBufferSize = 4096;
        peer.ReceiveBufferSize = 4096;
        using var io = Own(local);
        var send = await LoopbackSockets.FillUntilBlockedAsync(chunk => io.SendAsync(chunk, CancellationToken.None));

        // Reading on the peer makes room; the waiting send then goes out.
        var drain = new byte[64 * 1024];
        var drained = 0L;
        while (!send.IsCompleted)
        {
            drained += await peer.ReceiveAsync(drain).WaitAsync(Patience);
        }

        Assert.True(await send > 0);
        Assert.True(drained > 0);
    }

    [Fact]
    public async Task A_read_and_a_send_wait_on_one_socket_at_once_and_each_completes_on_its_own()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        local.SendBufferSize = 4096;
        peer.ReceiveBufferSize = 4096;
        using var io = Own(local);
        var read = io.ReceiveAsync(new byte[64], CancellationToken.None);
        var send = await LoopbackSockets.FillUntilBlockedAsync(chunk => io.SendAsync(chunk, CancellationToken.None));

        Assert.False(read.IsCompleted);

        // The peer writes without reading: only the read completes; the send still waits.
        peer.Send([7]);
        Assert.Equal(1, await read.AsTask().WaitAsync(Patience));
        Assert.False(send.IsCompleted, "the send waits for room, not for the peer's bytes");

        var drain = new byte[64 * 1024];
        while (!send.IsCompleted)
        {
            await peer.ReceiveAsync(drain).WaitAsync(Patience);
        }

        Assert.True(await send > 0);
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_the_next_read_still_gets_the_bytes()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var io = Own(local);
        var buffer = new byte[64];
        using var cancel = new CancellationTokenSource();
        var read = io.ReceiveAsync(buffer, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.AsTask().WaitAsync(Patience));

        var next = io.ReceiveAsync(buffer, CancellationToken.None);
        peer.Send([9, 9]);
        Assert.Equal(2, await next.AsTask().WaitAsync(Patience));

        // A token already cancelled fails before any wait.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => io.ReceiveAsync(buffer, cancel.Token).AsTask());
    }

    [Fact]
    public async Task Closing_during_a_wait_fails_it_as_a_closed_socket_and_leaves_epoll()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        var io = Own(local);
        var waits = io.Waits!;
        var read = io.ReceiveAsync(new byte[64], CancellationToken.None);
        Assert.True(waits.Registered);

        io.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => read.AsTask().WaitAsync(Patience));
        Assert.False(waits.Registered);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waits.ReadableAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task The_peer_closing_ends_a_waiting_read_with_zero()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var io = Own(local);
        var read = io.ReceiveAsync(new byte[64], CancellationToken.None);
        peer.Dispose();
        Assert.Equal(0, await read.AsTask().WaitAsync(Patience));
    }

    [Fact]
    public async Task Connect_reaches_a_listener_and_reports_a_refused_port_as_the_socket_would()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;

        using (var io = await SocketIo.ConnectAsync([IPAddress.Loopback], port, ownWaits: true, CancellationToken.None).WaitAsync(Patience))
        {
            Assert.NotNull(io.Waits);
            using var accepted = await listener.AcceptAsync().WaitAsync(Patience);
            io.Socket.Send([1]);
            Assert.Equal(1, await accepted.ReceiveAsync(new byte[4]).WaitAsync(Patience));
        }

        // A port nobody listens on: bind one, then close it.
        int closed;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            closed = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var refused = await Assert.ThrowsAsync<SocketException>(
            () => SocketIo.ConnectAsync([IPAddress.Loopback], closed, ownWaits: true, CancellationToken.None).WaitAsync(Patience));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        // The first address refuses (nothing listens on 127.0.0.2), the second accepts: as Socket.ConnectAsync with
        // several addresses.
        using var second = await SocketIo.ConnectAsync([IPAddress.Parse("127.0.0.2"), IPAddress.Loopback], port, ownWaits: true, CancellationToken.None)
            .WaitAsync(Patience);
        using var secondAccepted = await listener.AcceptAsync().WaitAsync(Patience);
        Assert.Equal(IPAddress.Loopback, ((IPEndPoint)second.Socket.RemoteEndPoint!).Address.MapToIPv4());
    }
}
