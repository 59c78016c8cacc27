using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace AstraPbx.MediaRelay.Io;

/// <summary>A non-blocking socket's async reads, writes and connect. With <see cref="Readiness"/> (Linux, and
/// <see cref="RelayOptions.OwnSocketWaits"/> on) each is one non-blocking call, and only when the kernel says
/// <c>EAGAIN</c> a one-shot wait on the relay's own epoll before the next: the socket never joins .NET's socket engine,
/// which would wake for every segment that arrives for as long as the socket lives. Without it, the socket's own async
/// methods. Errors are thrown as the socket's own would be: <see cref="SocketException"/>, and
/// <see cref="ObjectDisposedException"/> once disposed.</summary>
internal sealed class SocketIo : IDisposable
{
    private readonly Readiness.Registration? _waits;

    private SocketIo(Socket socket, Readiness.Registration? waits)
    {
        Socket = socket;
        _waits = waits;
    }

    public Socket Socket { get; }

    /// <summary>The relay's own epoll registration; null when the socket engine waits.</summary>
    internal Readiness.Registration? Waits => _waits;

    /// <summary>Takes <paramref name="socket"/> (made non-blocking) for async I/O; <paramref name="ownWaits"/> asks for
    /// the relay's own epoll where it is available.</summary>
    public static SocketIo For(Socket socket, bool ownWaits)
    {
        socket.Blocking = false;
        var readiness = ownWaits ? Readiness.Shared : null;
        return new SocketIo(socket, readiness?.Register(socket));
    }

    /// <summary>Connects a new TCP socket to the first of <paramref name="addresses"/> that accepts, as
    /// <see cref="Socket.ConnectAsync(IPAddress[], int, CancellationToken)"/> does; the last address's error is thrown.</summary>
    public static async Task<SocketIo> ConnectAsync(IPAddress[] addresses, int port, bool ownWaits, CancellationToken cancellationToken)
    {
        if (!ownWaits || Readiness.Shared is null)
        {
            return For(await ConnectThroughEngineAsync(addresses, port, cancellationToken).ConfigureAwait(false), ownWaits: false);
        }

        Exception? last = null;
        foreach (var address in addresses)
        {
            var io = For(new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }, ownWaits: true);
            try
            {
                await io.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return io;
            }
            catch (SocketException e)
            {
                io.Dispose();
                last = e;
            }
            catch
            {
                io.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>A new TCP socket (blocking, as <see cref="NetworkStream"/> needs) connected through .NET's socket engine.</summary>
    public static async Task<Socket> ConnectThroughEngineAsync(IPAddress[] addresses, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, port, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task ConnectAsync(EndPoint endPoint, CancellationToken cancellationToken)
    {
        try
        {
            Socket.Connect(endPoint);
            return;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            // Connecting: the socket becomes writable when the connect ends, either way.
        }

        await _waits!.WritableAsync(cancellationToken).ConfigureAwait(false);
        var error = (SocketError)(int)Socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        if (error != SocketError.Success)
        {
            throw new SocketException((int)error);
        }
    }

    /// <summary>Reads what has come, waiting until something has (0: the peer closed).</summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_waits is null)
        {
            return Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
        }

        var count = Socket.Receive(buffer.Span, SocketFlags.None, out var error);
        return error switch
        {
            SocketError.Success => new ValueTask<int>(count),
            SocketError.WouldBlock => WaitThenReceiveAsync(buffer, cancellationToken),
            _ => ValueTask.FromException<int>(new SocketException((int)error)),
        };
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> WaitThenReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            await _waits!.ReadableAsync(cancellationToken).ConfigureAwait(false);
            var count = Socket.Receive(buffer.Span, SocketFlags.None, out var error);
            if (error == SocketError.Success)
            {
                return count;
            }

            if (error != SocketError.WouldBlock)
            {
                throw new SocketException((int)error);
            }
        }
    }

    /// <summary>Sends what fits now, waiting until something does; returns how much went (at least one byte).</summary>
    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_waits is null)
        {
            return Socket.SendAsync(buffer, SocketFlags.None, cancellationToken);
        }

        var count = Socket.Send(buffer.Span, SocketFlags.None, out var error);
        return error switch
        {
            SocketError.Success => new ValueTask<int>(count),
            SocketError.WouldBlock => WaitThenSendAsync(buffer, cancellationToken),
            _ => ValueTask.FromException<int>(new SocketException((int)error)),
        };
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> WaitThenSendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            await _waits!.WritableAsync(cancellationToken).ConfigureAwait(false);
            var count = Socket.Send(buffer.Span, SocketFlags.None, out var error);
            if (error == SocketError.Success)
            {
                return count;
            }

            if (error != SocketError.WouldBlock)
            {
                throw new SocketException((int)error);
            }
        }
    }

    /// <summary>Ends the waits in progress (<see cref="ObjectDisposedException"/>), leaves the relay's epoll, then
    /// closes the socket (in that order: the descriptor must not be reused while epoll still has it).</summary>
    public void Dispose()
    {
        _waits?.Dispose();
        Socket.Dispose();
    }
}
