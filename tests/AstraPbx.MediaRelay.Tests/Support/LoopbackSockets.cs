using System.Net;
using System.Net.Sockets;

namespace AstraPbx.MediaRelay.Tests.Support;

/// <summary>Real loopback TCP sockets for the socket-level tests.</summary>
internal static class LoopbackSockets
{
    /// <summary>A connected pair: the accepted side (the relay's) and the connecting peer.</summary>
    public static async Task<(Socket Local, Socket Peer)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptAsync();
        await peer.ConnectAsync(listener.LocalEndPoint!);
        return (await accept, peer);
    }

    /// <summary>Reads <paramref name="stream"/> until <paramref name="total"/> bytes came, as the WebSocket reads: each
    /// read's continuation asks for the next at once, so completions on a tick run the whole chain inline on it. The
    /// task completes when all came.</summary>
    public static Task ReadChainedAsync(Stream stream, byte[] buffer, int total)
    {
        var got = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void ReadNext()
        {
            try
            {
                while (got < total)
                {
                    var read = stream.ReadAsync(buffer);
                    if (!read.IsCompleted)
                    {
                        // Without the caller's context, as the WebSocket's reads (ConfigureAwait(false)): under a context
                        // (xUnit runs tests under one) the completion is posted to it, so the chain no longer runs on the
                        // tick, the tick's next read finds no read waiting, and the test waited for a tick it never gives
                        // (A_flood_from_the_bot_... timed out in about one full relay suite in five).
                        var awaiter = read.ConfigureAwait(false).GetAwaiter();
                        awaiter.UnsafeOnCompleted(() =>
                        {
                            try
                            {
                                got += awaiter.GetResult();
                                ReadNext();
                            }
                            catch (Exception e)
                            {
                                done.TrySetException(e);
                            }
                        });
                        return;
                    }

                    got += read.Result;
                }

                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        }

        ReadNext();
        return done.Task;
    }

    /// <summary>Sends until the kernel's send buffer is full; returns the send that waits for room.</summary>
    public static async Task<ValueTask<int>> FillUntilBlockedAsync(Func<byte[], ValueTask<int>> send)
    {
        var chunk = new byte[16 * 1024];
        long queued = 0;
        ValueTask<int> pending;
        while ((pending = send(chunk)).IsCompleted)
        {
            queued += await pending;
            if (queued > 64L * 1024 * 1024)
            {
                throw new InvalidOperationException("the kernel never said the send buffer was full");
            }
        }

        return pending;
    }
}
