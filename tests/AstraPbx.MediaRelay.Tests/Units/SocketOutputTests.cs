using System.Buffers.Binary;
using System.Net.Sockets;
using AstraPbx.MediaRelay.Io;
using AstraPbx.MediaRelay.Tests.Support;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The writer toward Asterisk (<see cref="SocketOutput"/>) on real loopback sockets: a flush sends at once;
/// what the kernel does not take waits and goes out in order; a peer that stops reading pauses the writer at 64 KiB
/// and never makes it queue without bound; a reset ends every flush; completing waits for what is queued.</summary>
public sealed class SocketOutputTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private const int FrameBytes = 1024;

    /// <summary>Writes frame <paramref name="number"/> (its number in its first four bytes, then filler) and flushes.</summary>
    private static ValueTask<System.IO.Pipelines.FlushResult> WriteFrame(SocketOutput output, int number)
    {
        var span = output.GetSpan(FrameBytes);
        BinaryPrimitives.WriteInt32BigEndian(span, number);
        span[4..FrameBytes].Fill((byte)number);
        output.Advance(FrameBytes);
        return output.FlushAsync();
    }

    /// <summary>Reads frames on the peer until <paramref name="count"/> came, checking each is the next in order.</summary>
    private static Task ReadFramesInOrderAsync(Socket peer, int count) => ReadFramesFromAsync(peer, 0, count);

    /// <summary>Reads frames <paramref name="first"/> to <paramref name="end"/> (exclusive) on the peer, checking each
    /// is the next in order.</summary>
    private static async Task ReadFramesFromAsync(Socket peer, int first, int end)
    {
        var frame = new byte[FrameBytes];
        for (var i = first; i < end; i++)
        {
            var got = 0;
            while (got < FrameBytes)
            {
                var read = await peer.ReceiveAsync(frame.AsMemory(got)).AsTask().WaitAsync(Patience);
                Assert.True(read > 0, $"the connection ended before frame {i} of {end}");
                got += read;
            }

            Assert.Equal(i, BinaryPrimitives.ReadInt32BigEndian(frame));
            Assert.All(frame[4..], b => Assert.Equal((byte)i, b));
        }
    }

    /// <summary>A connection whose kernel buffers are small (4 KiB each way), so that a peer that does not read fills
    /// them within a few frames.</summary>
    private static async Task<(Socket Peer, SocketIo Io, SocketOutput Output)> SmallBuffersAsync()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        local.SendBufferSize = 4096;
        peer.ReceiveBufferSize = 4096;
        var io = SocketIo.For(local, ownWaits: true);
        return (peer, io, new SocketOutput(io));
    }

    /// <summary>Writes frames while the peer reads nothing, until the kernel's buffers are full and some wait in the
    /// output; returns how many were written.</summary>
    private static async Task<int> WriteUntilQueuedAsync(SocketOutput output)
    {
        var written = 0;
        while (output.Backlog == 0)
        {
            Assert.False((await WriteFrame(output, written++)).IsCompleted);
            Assert.True(written < 10_000, "the kernel took everything");
        }

        return written;
    }

    /// <summary>Writes frames while the peer reads nothing, until a flush does not complete (the writer paused); returns
    /// how many were written and that flush.</summary>
    private static (int Written, ValueTask<System.IO.Pipelines.FlushResult> Paused) WriteUntilPaused(SocketOutput output)
    {
        var written = 0;
        ValueTask<System.IO.Pipelines.FlushResult> flush;
        while ((flush = WriteFrame(output, written++)).IsCompleted)
        {
            Assert.True(written < 10_000, "the writer was never paused");
        }

        return (written, flush);
    }

    [Fact]
    public async Task A_flush_sends_at_once_and_completes_without_waiting()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var io = SocketIo.For(local, ownWaits: true);
        var output = new SocketOutput(io);

        for (var i = 0; i < 20; i++)
        {
            var flush = WriteFrame(output, i);
            Assert.True(flush.IsCompletedSuccessfully, $"flush {i} completed at once");
            Assert.False((await flush).IsCompleted);
        }

        Assert.Equal(0, output.Backlog);
        await ReadFramesInOrderAsync(peer, 20);
    }

    [Fact]
    public async Task A_peer_that_stops_reading_pauses_the_writer_and_everything_arrives_in_order_once_it_reads()
    {
        var (peer, io, output) = await SmallBuffersAsync();
        using var _ = peer;
        using var __ = io;

        // The kernel's buffers fill, then the backlog: flushes complete until 64 KiB wait here, then one does not.
        var (written, flush) = WriteUntilPaused(output);

        Assert.True(output.Backlog <= SocketOutput.PauseBytes + FrameBytes, $"{output.Backlog} bytes queued past the pause");
        Assert.True(written * FrameBytes >= SocketOutput.PauseBytes);

        // The peer reads: the paused flush completes once the backlog is down to the resume mark. The frames written
        // from then on, while the rest of the backlog still drains and the kernel has room again, go behind it: every
        // frame comes in the order written.
        const int More = 200;
        var reading = ReadFramesInOrderAsync(peer, written + More);
        var result = await flush.AsTask().WaitAsync(Patience);
        Assert.False(result.IsCompleted);
        Assert.True(output.Backlog <= SocketOutput.ResumeBytes);
        for (var i = 0; i < More; i++)
        {
            Assert.False((await WriteFrame(output, written++).AsTask().WaitAsync(Patience)).IsCompleted);
        }

        await reading;
        Assert.Equal(0, output.Backlog);
    }

    [Fact]
    public async Task A_frame_flushed_the_moment_the_peer_makes_room_still_goes_behind_the_backlog()
    {
        var (peer, io, output) = await SmallBuffersAsync();
        using var _ = peer;
        using var __ = io;
        var written = await WriteUntilQueuedAsync(output);

        // The kernel holds some frames and the output the rest. A hundred times the peer takes up to a frame and a frame
        // is flushed straight after, on the same thread, before the drain (woken through epoll) can fill the room: it
        // must still queue behind what waits, not go into the room itself.
        var received = new List<byte>();
        var piece = new byte[FrameBytes];
        peer.ReceiveTimeout = (int)Patience.TotalMilliseconds;
        for (var i = 0; i < 100; i++)
        {
            var read = peer.Receive(piece);
            Assert.True(read > 0, "the connection ended");
            received.AddRange(piece.AsSpan(0, read));
            Assert.False((await WriteFrame(output, written++)).IsCompleted);
        }

        var complete = received.Count / FrameBytes;
        var partial = received.Count % FrameBytes;
        for (var i = 0; i < complete; i++)
        {
            Assert.Equal(i, BinaryPrimitives.ReadInt32BigEndian(received.GetRange(i * FrameBytes, 4).ToArray()));
        }

        // The rest, from the frame the peer has part of.
        peer.ReceiveTimeout = 0;
        var rest = new byte[FrameBytes - partial];
        var got = 0;
        while (got < rest.Length)
        {
            got += await peer.ReceiveAsync(rest.AsMemory(got)).AsTask().WaitAsync(Patience);
        }

        var straddling = received.GetRange(complete * FrameBytes, partial).Concat(rest).ToArray();
        Assert.Equal(complete, BinaryPrimitives.ReadInt32BigEndian(straddling));
        Assert.All(straddling[4..], b => Assert.Equal((byte)complete, b));
        await ReadFramesFromAsync(peer, complete + 1, written);
    }

    [Fact]
    public async Task Completing_waits_for_the_backlog_to_go()
    {
        var (peer, io, output) = await SmallBuffersAsync();
        using var _ = peer;
        using var __ = io;
        var written = await WriteUntilQueuedAsync(output);

        output.Complete();
        Assert.False(output.Sent.IsCompleted);
        Assert.Throws<InvalidOperationException>(() => output.GetSpan());

        await ReadFramesInOrderAsync(peer, written);
        await output.Sent.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_reset_ends_the_paused_flush_and_every_later_one()
    {
        var (peer, io, output) = await SmallBuffersAsync();
        using var __ = io;
        var (written, flush) = WriteUntilPaused(output);

        // Asterisk resets the connection (linger 0) with the writer paused.
        peer.LingerState = new LingerOption(true, 0);
        peer.Close();

        Assert.True((await flush.AsTask().WaitAsync(Patience)).IsCompleted);
        await output.Sent.WaitAsync(Patience);
        Assert.Equal(0, output.Backlog);
        var later = WriteFrame(output, written);
        Assert.True(later.IsCompletedSuccessfully);
        Assert.True((await later).IsCompleted);
    }

    [Fact]
    public async Task A_flush_on_a_closed_socket_reports_the_end_instead_of_throwing()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        var io = SocketIo.For(local, ownWaits: true);
        var output = new SocketOutput(io);
        io.Dispose();

        var flush = WriteFrame(output, 0);

        Assert.True((await flush).IsCompleted);
        await output.Sent.WaitAsync(Patience);
    }
}
