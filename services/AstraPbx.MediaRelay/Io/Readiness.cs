using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace AstraPbx.MediaRelay.Io;

/// <summary>The relay's own readiness waits (Linux epoll), for the sockets its playout ticks read. .NET's socket engine
/// adds a socket to its epoll at the first operation that has to wait and keeps it there, edge-triggered for reads and
/// writes, until the socket closes: from then on every segment that arrives wakes the engine's thread, though the tick
/// reads the socket and nobody waits on it (at 100 calls, 2,200 wake-ups a second and a quarter of the relay's CPU). Here
/// a socket is armed only while someone waits on it, one-shot: a tick-read socket costs nothing between its reads, and
/// a wait costs one <c>epoll_ctl</c> and one event.
/// <para>One thread waits for every socket's events; a wait's continuation runs on it, as the socket engine's do with
/// inline completions (<see cref="Hosting.InlineIo"/>).</para></summary>
internal sealed partial class Readiness
{
    private const int EpollCloexec = 0x80000;
    private const int CtlAdd = 1;
    private const int CtlDel = 2;
    private const int CtlMod = 3;
    internal const uint In = 0x001;
    internal const uint Out = 0x004;
    private const uint Err = 0x008;
    private const uint Hup = 0x010;
    private const uint RdHup = 0x2000;
    private const uint OneShot = 1u << 30;
    private const int Batch = 256;
    private const int Eintr = 4;

    // struct epoll_event is packed on x86-64 (12 bytes: events, then data at offset 4); elsewhere it is 16 bytes.
    private static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private static readonly Lazy<Readiness?> s_shared = new(Create);

    private readonly int _epoll;
    private readonly ConcurrentDictionary<long, Registration> _registrations = new();
    private long _ids;

    private Readiness(int epoll)
    {
        _epoll = epoll;
        var thread = new Thread(Run) { IsBackground = true, Name = "relay-io" };
        thread.Start();
    }

    /// <summary>The process's readiness thread, started at first use; null where epoll is not available (not Linux).</summary>
    public static Readiness? Shared => s_shared.Value;

    private static Readiness? Create()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            var epoll = epoll_create1(EpollCloexec);
            return epoll < 0 ? null : new Readiness(epoll);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>A socket's waits; the socket is added to epoll at its first wait. Close the registration before the
    /// socket: a wait in progress then fails, and the file descriptor leaves epoll while it is still the socket's.</summary>
    public Registration Register(System.Net.Sockets.Socket socket)
    {
        var registration = new Registration(this, Interlocked.Increment(ref _ids), (int)socket.SafeHandle.DangerousGetHandle());
        _registrations[registration.Id] = registration;
        return registration;
    }

    private int Control(int op, int fd, uint events, long id)
    {
        Span<byte> ev = stackalloc byte[16];
        MemoryMarshal.Write(ev, in events);
        MemoryMarshal.Write(ev[DataOffset..], in id);
        unsafe
        {
            fixed (byte* p = ev)
            {
                return epoll_ctl(_epoll, op, fd, p) == 0 ? 0 : Marshal.GetLastPInvokeError();
            }
        }
    }

    private unsafe void Run()
    {
        var buffer = new byte[Batch * EventSize];
        fixed (byte* events = buffer)
        {
            while (true)
            {
                var count = epoll_wait(_epoll, events, Batch, -1);
                if (count < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Eintr)
                    {
                        continue;
                    }

                    // The epoll descriptor is unusable: waits would hang, so fail them all rather than leave calls in silence.
                    foreach (var registration in _registrations.Values)
                    {
                        registration.Fail(new IOException("The relay's socket readiness wait failed: errno " + Marshal.GetLastPInvokeError()));
                    }

                    return;
                }

                for (var i = 0; i < count; i++)
                {
                    var entry = new ReadOnlySpan<byte>(events + (i * EventSize), EventSize);
                    var mask = MemoryMarshal.Read<uint>(entry);
                    var id = MemoryMarshal.Read<long>(entry[DataOffset..]);
                    if (_registrations.TryGetValue(id, out var registration))
                    {
                        try
                        {
                            registration.OnEvents(mask);
                        }
                        catch (Exception e)
                        {
                            // A continuation that throws (an async method's never does: its task holds the error) ends
                            // only its own socket's waits; this thread goes on serving every other socket.
                            registration.Fail(new IOException("A socket wait's continuation failed", e));
                        }
                    }
                }
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int epoll_ctl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);

    /// <summary>One socket's waits: at most one for reading and one for writing at a time.</summary>
    internal sealed class Registration : IDisposable
    {
        private readonly Readiness _owner;
        private readonly int _fd;
        private readonly Wait _read;
        private readonly Wait _write;
        private readonly object _gate = new();
        private bool _added;
        private Exception? _closed;
        private long _events;

        internal Registration(Readiness owner, long id, int fd)
        {
            _owner = owner;
            Id = id;
            _fd = fd;
            _read = new Wait(this);
            _write = new Wait(this);
        }

        internal long Id { get; }

        /// <summary>Events epoll reported for this socket: one per wait that had to wait, none between waits.</summary>
        internal long Events => Interlocked.Read(ref _events);

        /// <summary>True while the relay's readiness thread knows this registration (until <see cref="Dispose"/>).</summary>
        internal bool Registered => _owner._registrations.ContainsKey(Id);

        /// <summary>Completes when the socket can be read (or has an error, or the peer closed).</summary>
        public ValueTask ReadableAsync(CancellationToken cancellationToken) => Arm(_read, cancellationToken);

        /// <summary>Completes when the socket can be written (or has an error; a connect in progress has finished).</summary>
        public ValueTask WritableAsync(CancellationToken cancellationToken) => Arm(_write, cancellationToken);

        private ValueTask Arm(Wait wait, CancellationToken cancellationToken)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled(cancellationToken);
            }

            int error;
            short version;
            lock (_gate)
            {
                if (_closed is not null)
                {
                    return ValueTask.FromException(_closed);
                }

                if (wait.Pending)
                {
                    throw new InvalidOperationException("Only one wait per direction at a time.");
                }

                version = wait.Start(cancellationToken);
                error = Rearm();
                if (error != 0)
                {
                    wait.Pending = false;
                }
                else if (cancellationToken.CanBeCanceled)
                {
                    // A token cancelled since the check above runs the callback here; the gate is reentrant.
                    wait.Cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((Wait)state!).Cancel(token), wait);
                }
            }

            return error == 0 ? new ValueTask(wait, version) : ValueTask.FromException(ControlFailed(error));
        }

        private static System.Net.Sockets.SocketException ControlFailed(int errno) =>
            new(errno == 9 ? (int)System.Net.Sockets.SocketError.OperationAborted : (int)System.Net.Sockets.SocketError.SocketError);

        /// <summary>Under the gate: asks epoll for the directions waited on, once (level-triggered: a socket ready now
        /// reports at once).</summary>
        private int Rearm()
        {
            var events = Waited | Err | Hup | RdHup | OneShot;
            if (_added)
            {
                return _owner.Control(CtlMod, _fd, events, Id);
            }

            var error = _owner.Control(CtlAdd, _fd, events, Id);
            _added = error == 0;
            return error;
        }

        /// <summary>Under the gate: the directions with a wait in progress.</summary>
        private uint Waited => (_read.Pending ? In : 0) | (_write.Pending ? Out : 0);

        /// <summary>Under the gate: <paramref name="wait"/> if it is in progress, now taken off (its caller completes it
        /// outside the gate); otherwise null.</summary>
        private static Wait? Take(Wait wait)
        {
            if (!wait.Pending)
            {
                return null;
            }

            wait.Pending = false;
            return wait;
        }

        internal void OnEvents(uint mask)
        {
            Interlocked.Increment(ref _events);
            var fired = (mask & (Err | Hup)) != 0 ? In | Out : mask & (In | Out | RdHup);
            if ((fired & RdHup) != 0)
            {
                fired |= In;
            }

            Wait? read = null;
            Wait? write = null;
            Wait? left = null;
            Exception? leftError = null;
            lock (_gate)
            {
                if (_closed is not null)
                {
                    return;
                }

                read = (fired & In) != 0 ? Take(_read) : null;
                write = (fired & Out) != 0 ? Take(_write) : null;
                if (Waited != 0)
                {
                    // One-shot disarmed the socket; the direction that did not fire still waits.
                    var error = Rearm();
                    if (error != 0)
                    {
                        left = Take(_read) ?? Take(_write);
                        leftError = ControlFailed(error);
                    }
                }
            }

            read?.Complete(null);
            write?.Complete(null);
            left?.Complete(leftError);
        }

        /// <summary>A wait given up (its token was cancelled): true when it was still in progress, and is now off. The
        /// socket stays armed for the rest of this one shot; an event for nobody is ignored.</summary>
        private bool Withdraw(Wait wait)
        {
            lock (_gate)
            {
                return Take(wait) is not null;
            }
        }

        internal void Fail(Exception error)
        {
            Wait? read, write;
            lock (_gate)
            {
                if (_closed is not null)
                {
                    return;
                }

                _closed = error;
                read = Take(_read);
                write = Take(_write);
            }

            read?.Complete(error);
            write?.Complete(error);
        }

        /// <summary>Leaves epoll and fails the waits in progress with <see cref="ObjectDisposedException"/>, as a
        /// socket's own pending operations fail when it closes. Call before closing the socket.</summary>
        public void Dispose()
        {
            bool added;
            lock (_gate)
            {
                added = _added;
                _added = false;
            }

            Fail(new ObjectDisposedException(typeof(System.Net.Sockets.Socket).FullName));
            if (added)
            {
                _owner.Control(CtlDel, _fd, 0, Id);
            }

            _owner._registrations.TryRemove(Id, out _);
        }

        /// <summary>One direction's wait, reused for each wait (no allocation per wait).</summary>
        private sealed class Wait(Registration owner) : IValueTaskSource
        {
            private ManualResetValueTaskSourceCore<bool> _core;

            /// <summary>In progress; read and written under the registration's gate.</summary>
            public bool Pending { get; set; }

            public CancellationTokenRegistration Cancellation { get; set; }

            private CancellationToken _token;

            /// <summary>Under the registration's gate.</summary>
            public short Start(CancellationToken token)
            {
                Cancellation.Unregister();
                Cancellation = default;
                _token = token;
                _core.Reset();
                Pending = true;
                return _core.Version;
            }

            public void Cancel(CancellationToken token)
            {
                // A registration left from an earlier wait on another token must not cancel this one.
                if (token == _token && owner.Withdraw(this))
                {
                    Complete(new OperationCanceledException(token));
                }
            }

            /// <summary>Ends a wait already taken off under the gate (<see cref="Take"/>).</summary>
            public void Complete(Exception? error)
            {
                // Unregister, not Dispose: this may run inside the token's own callback.
                Cancellation.Unregister();
                if (error is null)
                {
                    _core.SetResult(true);
                }
                else
                {
                    _core.SetException(error);
                }
            }

            void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

            ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

            void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
                _core.OnCompleted(continuation, state, token, flags);
        }
    }
}
