using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay.Tests.Support;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>Reads served by the playout tick, on real loopback sockets: the gateway's <see cref="TickedSocketStream"/> and
/// the AudioSocket <see cref="CallerConnection"/>. Once ticked, bytes wait in the kernel until a tick reads them; a quiet
/// peer goes back to epoll after <c>IdlePolls</c> empty ticks (the relay's own, or .NET's socket engine with
/// <c>Relay:OwnSocketWaits</c> off); the end of ticking, a close and a reset each reach the reader.</summary>
public sealed class TickedReadTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>Waits until the kernel has the bytes in the local socket's receive queue (nothing read them yet).</summary>
    private static Task WaitQueuedAsync(Socket local, int bytes) =>
        Wait.Until(() => local.Available >= bytes, $"{bytes} bytes queued on the socket");

    [Fact]
    public async Task A_ticked_gateway_read_waits_for_the_tick_and_gets_the_bytes_there()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var stream = new TickedSocketStream(local);
        var buffer = new byte[64];

        // Before the first tick: an ordinary read.
        var first = stream.ReadAsync(buffer);
        await peer.SendAsync(new byte[] { 1, 2, 3 });
        Assert.Equal(3, await first.AsTask().WaitAsync(Patience));

        stream.Poll();
        var read = stream.ReadAsync(buffer);
        await peer.SendAsync(new byte[] { 4, 5 });
        await WaitQueuedAsync(local, 2);
        Assert.False(read.IsCompleted, "a ticked read waits for the tick");

        stream.Poll();
        Assert.True(read.IsCompleted, "the tick completes the read in its own call");
        Assert.Equal(2, await read);
        Assert.Equal(new byte[] { 4, 5 }, buffer[..2]);
        Assert.Equal(1, stream.PolledReads);
    }

    [Fact]
    public async Task A_small_ticked_read_takes_the_whole_message_in_one_recv_and_the_next_reads_get_the_rest_at_once()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var stream = new TickedSocketStream(local);
        stream.Poll();

        // As the WebSocket reads: a header's few bytes, then exactly the payload.
        var header = new byte[2];
        var read = stream.ReadAsync(header);
        await peer.SendAsync(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 });
        await WaitQueuedAsync(local, 10);
        stream.Poll();
        Assert.Equal(2, await read.AsTask().WaitAsync(Patience));
        Assert.Equal(new byte[] { 1, 2 }, header);
        Assert.Equal(0, local.Available); // one recv took it all

        var payload = new byte[5];
        var rest = stream.ReadAsync(payload);
        Assert.True(rest.IsCompleted, "bytes read ahead are served without waiting for a tick");
        Assert.Equal(5, await rest);
        Assert.Equal(new byte[] { 3, 4, 5, 6, 7 }, payload);
        var last = new byte[64];
        Assert.Equal(3, await stream.ReadAsync(last));
        Assert.Equal(new byte[] { 8, 9, 10 }, last[..3]);
        Assert.Equal(1, stream.PolledReads);

        // Nothing left ahead: the next read waits for the tick again.
        var next = stream.ReadAsync(last);
        await peer.SendAsync(new byte[] { 11 });
        await WaitQueuedAsync(local, 1);
        Assert.False(next.IsCompleted);
        stream.Poll();
        Assert.Equal(1, await next.AsTask().WaitAsync(Patience));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_quiet_bot_goes_back_to_epoll_after_the_idle_ticks_and_the_next_read_is_ticked_again(bool ownWaits)
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var stream = new TickedSocketStream(local, ownWaits);
        var buffer = new byte[64];
        stream.Poll();

        var read = stream.ReadAsync(buffer);
        for (var i = 0; i < TickedSocketStream.IdlePolls; i++)
        {
            stream.Poll();
        }

        Assert.Equal(1, stream.IdleHandOffs);
        await peer.SendAsync(new byte[] { 7 });
        Assert.Equal(1, await read.AsTask().WaitAsync(Patience));
        Assert.Equal(0, stream.PolledReads);

        var next = stream.ReadAsync(buffer);
        await peer.SendAsync(new byte[] { 8, 9 });
        await WaitQueuedAsync(local, 2);
        Assert.False(next.IsCompleted);
        stream.Poll();
        Assert.Equal(2, await next);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_flood_from_the_bot_is_drained_by_the_socket_engine_not_a_few_reads_per_tick(bool ownWaits)
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var stream = new TickedSocketStream(local, ownWaits);
        stream.Poll();
        var flood = new byte[(64 * 1024) + 100];
        await peer.SendAsync(flood);
        await WaitQueuedAsync(local, flood.Length);

        // A reader like the WebSocket's, whose completions on the tick run the whole chain inline there.
        var reading = LoopbackSockets.ReadChainedAsync(stream, new byte[1024], flood.Length);

        // One tick: its reads all come back full, so the rest goes to the socket engine; no further tick is needed.
        stream.Poll();
        await reading.WaitAsync(Patience);
        Assert.Equal(TickedSocketStream.MaxReadsPerTick, stream.PolledReads);
        Assert.Equal(1, stream.Bursts);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_flood_ends_when_a_read_finds_nothing_queued_though_every_read_fills_its_buffer(bool ownWaits)
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var stream = new TickedSocketStream(local, ownWaits);
        stream.Poll();

        // A flood of exactly 64 reads' worth, each read the size of the reader's buffer (as the WebSocket reads a
        // payload: exactly its length), so no read comes back short.
        var buffer = new byte[1024];
        var flood = new byte[64 * buffer.Length];
        await peer.SendAsync(flood);
        await WaitQueuedAsync(local, flood.Length);
        var reading = LoopbackSockets.ReadChainedAsync(stream, buffer, flood.Length);
        stream.Poll();
        await reading.WaitAsync(Patience);
        Assert.Equal(0, stream.Bursts); // every read so far was full: the flood may go on

        // Nothing is queued now: this read waits, so the flood is over, though what then comes fills it exactly.
        var waiting = stream.ReadAsync(buffer);
        Assert.False(waiting.IsCompleted);
        await peer.SendAsync(new byte[buffer.Length]);
        Assert.Equal(buffer.Length, await waiting.AsTask().WaitAsync(Patience));
        Assert.Equal(1, stream.Bursts);

        // Back on the ticks: bytes already queued wait for the next tick.
        var ticked = stream.ReadAsync(buffer);
        await peer.SendAsync(new byte[] { 1, 2 });
        await WaitQueuedAsync(local, 2);
        Assert.False(ticked.IsCompleted, "after the flood a read waits for the tick again");
        stream.Poll();
        Assert.Equal(2, await ticked.AsTask().WaitAsync(Patience));
    }

    [Fact]
    public async Task A_tick_hands_an_endless_flood_from_the_bot_to_the_thread_pool_and_returns_while_it_goes_on()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        using var stream = new TickedSocketStream(local);
        stream.Poll();
        using var flood = Flood.Start(peer, local);

        // A reader like the WebSocket's (every read's continuation asks for the next at once, so reads that complete at
        // once run the whole chain on the thread that completed the first), slower than the flood: its queue never empties.
        var counted = new ChainedCounter(stream, Flood.SlowReader);
        await flood.QueuedAsync();

        // The lane's playout thread: the tick hands the flood over and returns, though the bot has not stopped.
        stream.Poll();
        Assert.False(flood.Sending.IsCompleted, "the tick returned only once the flood had ended");
        Assert.Equal(TickedSocketStream.MaxReadsPerTick, stream.PolledReads);

        // Once the flood is drained the reads are the ticks' again: tick until every byte sent was read.
        flood.Stop();
        await Wait.Until(() =>
        {
            stream.Poll();
            return flood.Sending.IsCompleted && counted.Bytes == flood.Sent;
        }, "the reader to get the whole flood");
    }

    [Fact]
    public async Task A_tick_hands_an_endless_flood_from_the_caller_to_the_thread_pool_and_returns_while_it_goes_on()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        await using var connection = new CallerConnection(local);
        await peer.SendAsync(new byte[] { 1 });
        await ReadAllAsync(connection.Input, 1);
        connection.StartTicking();
        await peer.SendAsync(new byte[] { 2 });
        await TickUntilReadAsync(connection, 1);

        // The caller leg, slower than the flood: it takes what comes, inline on the thread whose flush brought it.
        long consumed = 0;
        var consuming = ConsumeAsync(connection.Input, bytes =>
        {
            Flood.SlowReader();
            Interlocked.Add(ref consumed, bytes);
        });
        using var flood = Flood.Start(peer, local);
        await flood.QueuedAsync();

        // The lane's playout thread: the tick hands the flood to the read loop and returns, though Asterisk has not
        // stopped sending (the loop, when it was started on this thread, kept it for as long as the flood went on).
        connection.Poll();
        Assert.False(flood.Sending.IsCompleted, "the tick returned only once the flood had ended");

        flood.Stop();
        await Wait.Until(() =>
        {
            connection.Poll();
            return flood.Sending.IsCompleted && Interlocked.Read(ref consumed) == flood.Sent;
        }, "the caller leg to get the whole flood");
        Assert.False(consuming.IsCompleted, "the input is still open");
    }

    [Fact]
    public async Task Stopping_the_ticks_hands_a_waiting_read_to_the_socket_engine_and_a_close_reads_as_zero()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var stream = new TickedSocketStream(local);
        var buffer = new byte[64];
        stream.Poll();
        var read = stream.ReadAsync(buffer);

        stream.StopTicking();
        await peer.SendAsync(new byte[] { 1 });
        Assert.Equal(1, await read.AsTask().WaitAsync(Patience));

        stream.Poll();
        var last = stream.ReadAsync(buffer);
        peer.Dispose();
        Assert.Equal(0, await last.AsTask().WaitAsync(Patience));
    }

    [Fact]
    public async Task Disposing_fails_a_read_waiting_for_a_tick()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        var stream = new TickedSocketStream(local);
        stream.Poll();
        var read = stream.ReadAsync(new byte[16]);

        stream.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => read.AsTask().WaitAsync(Patience));
    }

    [Fact]
    public async Task A_ticked_caller_connection_reads_on_the_tick_into_its_input()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        await using var connection = new CallerConnection(local);

        // Before ticking (the UUID): the socket engine reads.
        await peer.SendAsync(new byte[] { 1, 2, 3 });
        var first = await connection.Input.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.Equal(3, first.Buffer.Length);
        connection.Input.AdvanceTo(first.Buffer.End);

        connection.StartTicking();
        // A read still in flight takes the next bytes, or the tick does; from there on only the tick reads.
        await peer.SendAsync(new byte[] { 4 });
        await TickUntilReadAsync(connection, 1);

        var read = connection.Input.ReadAsync();
        await peer.SendAsync(new byte[] { 5, 6 });
        await WaitQueuedAsync(local, 2);
        Assert.False(read.IsCompleted, "a ticked connection's bytes wait for the tick");

        connection.Poll();
        Assert.True(read.IsCompleted, "the tick's flush completes the read in its own call");
        var ticked = await read;
        Assert.Equal(new byte[] { 5, 6 }, ticked.Buffer.ToArray());
        connection.Input.AdvanceTo(ticked.Buffer.End);
        Assert.True(connection.PolledReads >= 1);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_quiet_caller_goes_back_to_epoll_and_ending_the_ticks_keeps_reading_until_asterisk_closes(bool ownWaits)
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        await using var connection = new CallerConnection(local, ownWaits);
        await peer.SendAsync(new byte[] { 1 });
        await ReadAllAsync(connection.Input, 1);
        connection.StartTicking();
        await peer.SendAsync(new byte[] { 2 });
        await TickUntilReadAsync(connection, 1);
        var polled = connection.PolledReads;

        for (var i = 0; i < CallerConnection.IdlePolls; i++)
        {
            connection.Poll();
        }

        // Handed back to epoll: bytes arrive with no tick at all.
        await peer.SendAsync(new byte[] { 3 });
        await ReadAllAsync(connection.Input, 1);
        Assert.Equal(polled, connection.PolledReads);

        connection.StopTicking();
        await peer.SendAsync(new byte[] { 4, 5 });
        await ReadAllAsync(connection.Input, 2);
        peer.Dispose();
        var end = await connection.Input.ReadAsync().AsTask().WaitAsync(Patience);
        Assert.True(end.IsCompleted, "Asterisk's close completes the input");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_reset_fails_the_callers_input_and_asterisk_sees_a_reset_not_a_close(bool ownWaits)
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        await using var connection = new CallerConnection(local, ownWaits);
        connection.StartTicking();
        await peer.SendAsync(new byte[] { 1 });
        await TickUntilReadAsync(connection, 1);
        var read = connection.Input.ReadAsync();

        connection.Reset();
        await Assert.ThrowsAsync<IOException>(() => read.AsTask().WaitAsync(Patience));
        var error = await Assert.ThrowsAsync<SocketException>(() => peer.ReceiveAsync(new byte[16].AsMemory()).AsTask().WaitAsync(Patience));
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
    }

    [Fact]
    public async Task Frames_written_to_the_callers_output_go_out_in_the_flush()
    {
        var (local, peer) = await LoopbackSockets.PairAsync();
        using var _ = peer;
        await using var connection = new CallerConnection(local);
        await connection.Output.WriteAsync(new byte[] { 0x10, 0x00, 0x02, 9, 9 });

        var received = new byte[16];
        Assert.Equal(5, await peer.ReceiveAsync(received.AsMemory()).AsTask().WaitAsync(Patience));
        Assert.Equal(new byte[] { 0x10, 0x00, 0x02, 9, 9 }, received[..5]);
    }

    /// <summary>Ticks until the input has <paramref name="bytes"/> (each tick reads whatever the kernel holds by then).</summary>
    private static async Task TickUntilReadAsync(CallerConnection connection, int bytes)
    {
        var read = connection.Input.ReadAsync();
        await Wait.Until(() =>
        {
            connection.Poll();
            return read.IsCompleted;
        }, "a tick to read the bytes");
        var result = await read;
        Assert.Equal(bytes, result.Buffer.Length);
        connection.Input.AdvanceTo(result.Buffer.End);
    }

    private static async Task ConsumeAsync(PipeReader input, Action<long> took)
    {
        while (true)
        {
            // No context: the continuation runs inline, on the thread whose flush completed the read.
            var result = await input.ReadAsync().ConfigureAwait(false);
            took(result.Buffer.Length);
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>A peer sending as fast as the kernel takes it, from its own thread, until stopped (or 30 s, or 4 GiB), into
    /// a receive buffer large enough that a slow reader (<see cref="SlowReader"/>) never empties it: on two loaded cores
    /// the sender, once blocked, may take milliseconds to be woken and send again.</summary>
    private sealed class Flood : IDisposable
    {
        private const int Backlog = 2 * 1024 * 1024;
        private readonly CancellationTokenSource _stop = new();
        private readonly Socket _receiver;
        private long _sent;

        private Flood(Socket peer, Socket receiver)
        {
            _receiver = receiver;
            receiver.ReceiveBufferSize = 2 * Backlog;
            peer.SendBufferSize = Backlog;
            Sending = Task.Factory.StartNew(() =>
            {
                var chunk = new byte[64 * 1024];
                var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (!_stop.IsCancellationRequested && DateTime.UtcNow < until && Interlocked.Read(ref _sent) < (4L << 30))
                {
                    Interlocked.Add(ref _sent, peer.Send(chunk));
                }
            }, TaskCreationOptions.LongRunning);
        }

        /// <summary>Ends once the sender stopped (its last send may wait for the reader).</summary>
        public Task Sending { get; }

        public long Sent => Interlocked.Read(ref _sent);

        public static Flood Start(Socket peer, Socket receiver) => new(peer, receiver);

        /// <summary>Waits until the backlog is queued at the receiver, unread.</summary>
        public Task QueuedAsync() => WaitQueuedAsync(_receiver, Backlog);

        /// <summary>About 50 us of work per read: a reader of 20-80 MB/s, far slower than a loopback sender; the backlog
        /// lasts it tens of milliseconds.</summary>
        public static void SlowReader()
        {
            var until = System.Diagnostics.Stopwatch.GetTimestamp() + (System.Diagnostics.Stopwatch.Frequency / 20_000);
            while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
            {
                Thread.SpinWait(10);
            }
        }

        public void Stop() => _stop.Cancel();

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
        }
    }

    /// <summary>Reads <paramref name="stream"/> in a chain (each continuation starts the next read at once) and counts,
    /// running <paramref name="perRead"/> on each.</summary>
    private sealed class ChainedCounter
    {
        private readonly Stream _stream;
        private readonly Action _perRead;
        private readonly byte[] _buffer = new byte[1024];
        private long _bytes;

        public ChainedCounter(Stream stream, Action perRead)
        {
            _stream = stream;
            _perRead = perRead;
            ReadNext();
        }

        public long Bytes => Interlocked.Read(ref _bytes);

        private void ReadNext()
        {
            try
            {
                while (true)
                {
                    var read = _stream.ReadAsync(_buffer);
                    if (!read.IsCompleted)
                    {
                        // No context (as the relay's reads): the continuation runs on the thread that completes the read.
                        var awaiter = read.ConfigureAwait(false).GetAwaiter();
                        awaiter.UnsafeOnCompleted(() =>
                        {
                            int count;
                            try
                            {
                                count = awaiter.GetResult();
                            }
                            catch (Exception e) when (e is IOException or ObjectDisposedException)
                            {
                                return; // the test is over
                            }

                            if (Count(count))
                            {
                                ReadNext();
                            }
                        });
                        return;
                    }

                    if (!Count(read.Result))
                    {
                        return;
                    }
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // The test is over.
            }
        }

        private bool Count(int count)
        {
            _perRead();
            Interlocked.Add(ref _bytes, count);
            return count > 0;
        }
    }

    private static async Task ReadAllAsync(PipeReader input, int bytes)
    {
        var seen = 0;
        while (seen < bytes)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(Patience);
            seen += (int)result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
        }
    }
}
