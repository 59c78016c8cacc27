using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>One thread that reads for many <see cref="AudioSocketCaller"/>s (the load tool's calls) instead of a receive
/// loop each on the thread pool: it waits on all their sockets at once (epoll, level-triggered) and stamps what it reads
/// with the time the wait returned, or, with <c>kernelStamps</c>, with the time the kernel received it
/// (<see cref="KernelStamps"/>: reads of at most one frame, each stamped when it reached the socket, so a frame's arrival
/// does not move with where it came in the thread's batch). With <c>realtime</c> it runs at SCHED_FIFO, so the arrival
/// times it records are the relay's timing, not the thread pool's queue behind the echo bot and the tool's other work on
/// the same core. Linux only (<see cref="IsSupported"/>); elsewhere callers keep their own loops.</summary>
public sealed unsafe partial class CallerReceiver : IDisposable
{
    private const int MaxEvents = 256;
    private const int EpollCtlAdd = 1;
    private const int EpollCtlDel = 2;
    private const uint EpollIn = 0x001;
    private const uint EpollRdHup = 0x2000;
    private const int WaitTimeoutMs = 100;

    /// <summary><c>struct epoll_event</c> is packed on x86-64 (12 bytes, data at 4), naturally aligned elsewhere (16, at 8).</summary>
    private static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private readonly ConcurrentDictionary<long, AudioSocketCaller> _callers = new();
    private readonly TaskCompletionSource<bool> _realtimeSet = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _epoll;
    private readonly bool _realtime;
    private readonly bool _kernelStamps;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private long _nextId;

    /// <summary>Starts the receiving thread; with <paramref name="realtime"/> it asks for SCHED_FIFO (<see cref="RealtimeThread"/>);
    /// with <paramref name="kernelStamps"/> frames are stamped with the kernel's receive time (where
    /// <see cref="KernelStamps.IsSupported"/>; else with the wake-up's).</summary>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    public CallerReceiver(bool realtime = false, bool kernelStamps = false)
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("CallerReceiver waits with epoll: Linux only.");
        }

        _epoll = epoll_create1(0);
        if (_epoll < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        _realtime = realtime;
        _kernelStamps = kernelStamps && KernelStamps.IsSupported;
        _thread = new Thread(Run) { IsBackground = true, Name = "caller-recv" };
        _thread.Start();
    }

    /// <summary>Whether this platform has the receiver (Linux).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>Whether the receiving thread runs at SCHED_FIFO (false when not asked for, or refused).</summary>
    public Task<bool> Realtime => _realtimeSet.Task;

    /// <summary>Whether frames are stamped with the kernel's receive time.</summary>
    public bool UsesKernelStamps => _kernelStamps;

    /// <summary>Callers currently read.</summary>
    public int Count => _callers.Count;

    internal long Add(AudioSocketCaller caller, Socket socket)
    {
        if (_kernelStamps)
        {
            KernelStamps.Enable(socket);
        }

        var id = Interlocked.Increment(ref _nextId);
        _callers[id] = caller;
        Span<byte> ev = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(ev, EpollIn | EpollRdHup);
        BinaryPrimitives.WriteInt64LittleEndian(ev[DataOffset..], id);
        fixed (byte* p = ev)
        {
            if (epoll_ctl(_epoll, EpollCtlAdd, (int)socket.SafeHandle.DangerousGetHandle(), p) != 0)
            {
                _callers.TryRemove(id, out _);
                throw new SocketException(Marshal.GetLastPInvokeError());
            }
        }

        return id;
    }

    /// <summary>Stops reading for the caller registered as <paramref name="id"/> (its socket may already be closed, which
    /// removed it from the wait set by itself).</summary>
    internal void Remove(long id, Socket socket)
    {
        if (!_callers.TryRemove(id, out _))
        {
            return;
        }

        // Held open while it is named: the number of a closed socket may already belong to another caller's.
        var handle = socket.SafeHandle;
        var held = false;
        try
        {
            handle.DangerousAddRef(ref held);
            _ = epoll_ctl(_epoll, EpollCtlDel, (int)handle.DangerousGetHandle(), null);
        }
        catch (ObjectDisposedException)
        {
            // Closed: the kernel took it out of the wait set then.
        }
        finally
        {
            if (held)
            {
                handle.DangerousRelease();
            }
        }
    }

    private void Run()
    {
        _realtimeSet.TrySetResult(_realtime && RealtimeThread.TrySet());
        var events = new byte[MaxEvents * EventSize];
        while (!_stopping)
        {
            int ready;
            fixed (byte* p = events)
            {
                ready = epoll_wait(_epoll, p, MaxEvents, WaitTimeoutMs);
            }

            // One time for the whole batch: when the kernel woke the thread, the nearest to each frame's arrival (or,
            // with kernel stamps, the clocks to convert each read's own stamp with).
            var (arrived, realNs) = _kernelStamps ? KernelStamps.ReadClocks() : (Stopwatch.GetTimestamp(), 0L);
            for (var i = 0; i < ready; i++)
            {
                var id = BinaryPrimitives.ReadInt64LittleEndian(events.AsSpan(i * EventSize + DataOffset));
                if (!_callers.TryGetValue(id, out var caller))
                {
                    continue;
                }

                CallerEnd? end;
                try
                {
                    end = caller.ReceiveReady(arrived, realNs);
                }
                catch (Exception)
                {
                    // A failure in one call's handling (its frame callback) ends that call, not every call's reading.
                    end = CallerEnd.ConnectionLost;
                }

                if (end is { } how)
                {
                    _callers.TryRemove(id, out _);
                    caller.EndFromReceiver(how);
                }
            }
        }
    }

    /// <summary>Stops reading: no caller receives another frame.</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        _ = close(_epoll);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_wait(int epfd, byte* events, int maxEvents, int timeoutMs);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
