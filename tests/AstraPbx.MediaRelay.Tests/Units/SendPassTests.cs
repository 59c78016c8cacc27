using System.Net.Sockets;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Io;
using AstraPbx.MediaRelay.Tests.Support;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The gateway stream's writes held for the end of a playout thread's caller pass (<see cref="SendPass"/>,
/// <c>Relay:UplinkSendPass</c>), on real loopback sockets. A loopback send puts its bytes in the peer's receive queue
/// before it returns, so <see cref="Socket.Available"/> right after a write tells whether it was sent. A pass belongs to
/// the thread that opened it, so nothing inside one awaits.</summary>
public sealed class SendPassTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Writes_in_a_pass_leave_together_at_its_end_in_the_order_written()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var stream = new TickedSocketStream(local) { HoldWritesInPass = true };

        SendPass.Begin();
        try
        {
            Assert.True(stream.WriteAsync(new byte[] { 1, 2, 3 }).IsCompletedSuccessfully, "a held write completes at once");
            Assert.True(stream.WriteAsync(new byte[] { 4, 5 }).IsCompletedSuccessfully);
            Assert.Equal(0, peer.Available);
        }
        finally
        {
            SendPass.End();
        }

        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, await ReceiveAsync(peer, 5));
    }

    [Fact]
    public async Task Outside_a_pass_or_with_holding_off_a_write_is_sent_in_the_call()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var held = new TickedSocketStream(local) { HoldWritesInPass = true };
        await held.WriteAsync(new byte[] { 1, 2, 3 });
        Assert.Equal(3, peer.Available);

        var (local2, peer2) = await LoopbackSockets.PairAsync();
        using var __ = peer2;
        using var notHeld = new TickedSocketStream(local2) { HoldWritesInPass = false };
        SendPass.Begin();
        try
        {
            Assert.True(notHeld.WriteAsync(new byte[] { 7, 8 }).IsCompletedSuccessfully);
            Assert.Equal(2, peer2.Available);
        }
        finally
        {
            SendPass.End();
        }
    }

    [Fact]
    public async Task A_write_from_another_thread_while_bytes_are_held_goes_behind_them()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var stream = new TickedSocketStream(local) { HoldWritesInPass = true };

        SendPass.Begin();
        try
        {
            Assert.True(stream.WriteAsync(new byte[] { 1, 2 }).IsCompletedSuccessfully);

            // A keep-alive or mark from another thread, while the pass holds the frame: not sent ahead of it. (The test
            // waits without await: the pass belongs to this thread.)
            var completed = false;
            var other = new Thread(() => completed = stream.WriteAsync(new byte[] { 3 }).IsCompletedSuccessfully);
            other.Start();
            Assert.True(other.Join(Patience), "the other thread's write returns");
            Assert.True(completed, "a write queued behind held bytes completes at once, as they did");
            Assert.Equal(0, peer.Available);
        }
        finally
        {
            SendPass.End();
        }

        Assert.Equal(new byte[] { 1, 2, 3 }, await ReceiveAsync(peer, 3));
    }

    [Fact]
    public async Task Held_bytes_a_full_socket_cannot_take_go_as_the_peer_reads_and_later_writes_wait_behind_them()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        local.SendBufferSize = 64 * 1024;
        peer.ReceiveBufferSize = 64 * 1024;
        using var stream = new TickedSocketStream(local) { HoldWritesInPass = true };

        // Far more than the two buffers hold: the pass's end sends what fits and leaves the rest draining.
        var big = new byte[1024 * 1024];
        Random.Shared.NextBytes(big);
        SendPass.Begin();
        try
        {
            Assert.True(stream.WriteAsync(big).IsCompletedSuccessfully, "held, however large");
        }
        finally
        {
            SendPass.End();
        }

        var after = stream.WriteAsync(new byte[] { 42, 43 });
        Assert.False(after.IsCompleted, "a write behind held bytes the socket could not take waits for them");

        var received = await ReceiveAsync(peer, big.Length + 2);
        await after.AsTask().WaitAsync(Patience);
        Assert.Equal(big, received[..big.Length]);
        Assert.Equal(new byte[] { 42, 43 }, received[big.Length..]);
    }

    [Fact]
    public async Task A_pass_holds_at_most_the_bound_then_sends_and_a_write_the_full_socket_cannot_take_waits()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        local.SendBufferSize = 64 * 1024;
        peer.ReceiveBufferSize = 64 * 1024;
        using var stream = new TickedSocketStream(local) { HoldWritesInPass = true };

        // A pass that keeps forwarding (a caller far faster than real time) to a bot that stopped reading: a write must
        // come to wait (the gateway leg's send timeout then ends the session) long before the pass has held 16 MB.
        var written = new List<byte[]>();
        var waiting = default(ValueTask);
        SendPass.Begin();
        try
        {
            for (var i = 0; i < 2_000 && waiting.IsCompleted; i++)
            {
                var message = new byte[8000];
                message.AsSpan().Fill((byte)i);
                written.Add(message);
                waiting = stream.WriteAsync(message);
            }
        }
        finally
        {
            SendPass.End();
        }

        Assert.False(waiting.IsCompleted, $"all {written.Count} writes ({written.Count * 8000} bytes) completed at once: the pass held them");

        // The bot reads again: every byte arrives once, in the order written, and the waiting write completes.
        var expected = written.SelectMany(m => m).ToArray();
        Assert.Equal(expected, await ReceiveAsync(peer, expected.Length));
        await waiting.AsTask().WaitAsync(Patience);
        Assert.Equal(0, peer.Available);
    }

    [Fact]
    public async Task A_send_that_fails_at_the_pass_end_fails_the_next_write_with_the_socket_error()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var stream = new TickedSocketStream(local) { HoldWritesInPass = true };

        // The bot's side resets the connection (RST, no linger); on loopback the reset is in before Close returns.
        peer.LingerState = new LingerOption(true, 0);
        peer.Close();

        SendPass.Begin();
        try
        {
            Assert.True(stream.WriteAsync(new byte[] { 1, 2, 3 }).IsCompletedSuccessfully);
        }
        finally
        {
            SendPass.End();
        }

        var error = await Assert.ThrowsAsync<IOException>(async () => await stream.WriteAsync(new byte[] { 4 }).AsTask().WaitAsync(Patience));
        Assert.IsType<SocketException>(error.InnerException);
    }

    [Fact]
    public async Task A_stream_disposed_while_its_bytes_are_held_sends_nothing_at_the_pass_end()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        var stream = new TickedSocketStream(local) { HoldWritesInPass = true };

        SendPass.Begin();
        try
        {
            Assert.True(stream.WriteAsync(new byte[] { 1, 2, 3 }).IsCompletedSuccessfully);
            stream.Dispose();
        }
        finally
        {
            SendPass.End();
        }

        // The session's end closed the connection: the peer sees the close and none of the held bytes.
        var buffer = new byte[8];
        Assert.Equal(0, await peer.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Patience));
    }

    private static async Task<byte[]> ReceiveAsync(Socket peer, int total)
    {
        var received = new byte[total];
        var got = 0;
        while (got < total)
        {
            var count = await peer.ReceiveAsync(received.AsMemory(got)).AsTask().WaitAsync(Patience);
            Assert.True(count > 0, $"the connection closed after {got} of {total} bytes");
            got += count;
        }

        return received;
    }
}
