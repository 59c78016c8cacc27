using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>Reads with the kernel's receive time stamp (Linux <c>SO_TIMESTAMPNS</c>): the time the bytes reached the
/// socket, which on loopback is when the relay sent them, not when the reading thread got to them. For TCP the stamp is
/// that of the last segment the read took bytes from, so a read of at most one frame stamps that frame.</summary>
internal static unsafe partial class KernelStamps
{
    private const int SolSocket = 1;
    private const int SoTimestampNs = 35; // SO_TIMESTAMPNS_OLD = SCM_TIMESTAMPNS (x86-64 and the generic ABI)
    private const int MsgDontWait = 0x40;
    private const int EAgain = 11;
    private const int EIntr = 4;
    private const int EConnReset = 104;
    private const int ControlBytes = 64;

    /// <summary>Whether this platform has the stamps (64-bit Linux: the layouts below are its <c>msghdr</c>, <c>cmsghdr</c>
    /// and <c>timespec</c>).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>Asks the kernel to stamp what <paramref name="socket"/> receives.</summary>
    public static void Enable(Socket socket) => socket.SetRawSocketOption(SolSocket, SoTimestampNs, BitConverter.GetBytes(1));

    /// <summary>One non-blocking read into <paramref name="into"/>. On success <paramref name="stamp"/> becomes the bytes'
    /// arrival as a <see cref="Stopwatch"/> time stamp, converted through <paramref name="realNs"/> (the wall clock, ns since
    /// the Unix epoch, read with <paramref name="stamp"/>'s value: bytes that came after that, while the reader went
    /// through its batch, are stamped after it); it stays as it is when the read carried no stamp.</summary>
    public static int Receive(Socket socket, Span<byte> into, ref long stamp, long realNs, out SocketError error)
    {
        var handle = socket.SafeHandle;
        var held = false;
        handle.DangerousAddRef(ref held);
        try
        {
            var control = stackalloc byte[ControlBytes];
            var header = stackalloc byte[MsgHdr.Size];
            fixed (byte* data = into)
            {
                var iov = stackalloc nint[2];
                iov[0] = (nint)data;
                iov[1] = into.Length;
                new Span<byte>(header, MsgHdr.Size).Clear();
                *(nint*)(header + MsgHdr.Iov) = (nint)iov;
                *(nint*)(header + MsgHdr.IovLen) = 1;
                *(nint*)(header + MsgHdr.Control) = (nint)control;
                *(nint*)(header + MsgHdr.ControlLen) = ControlBytes;
                var read = (int)recvmsg((int)handle.DangerousGetHandle(), header, MsgDontWait);
                if (read < 0)
                {
                    error = Marshal.GetLastPInvokeError() switch
                    {
                        EAgain => SocketError.WouldBlock,
                        EIntr => SocketError.Interrupted,
                        EConnReset => SocketError.ConnectionReset,
                        _ => SocketError.SocketError,
                    };
                    return 0;
                }

                error = SocketError.Success;
                var controlLength = (int)*(nint*)(header + MsgHdr.ControlLen);
                if (Find(new ReadOnlySpan<byte>(control, Math.Min(controlLength, ControlBytes))) is { } arrivedNs)
                {
                    stamp -= (long)((realNs - arrivedNs) * (Stopwatch.Frequency / 1e9));
                }

                return read;
            }
        }
        finally
        {
            if (held)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>The <see cref="Stopwatch"/> and the wall clock (ns since the Unix epoch, the clock the kernel's stamps are
    /// on) read together: a pair whose reads were more than 20 us apart (the thread was preempted between them) is read
    /// again, at most three times, since the gap would shift every stamp converted with it.</summary>
    public static (long Timestamp, long RealNs) ReadClocks()
    {
        var tolerance = Stopwatch.Frequency / 50_000;
        (long, long) pair = default;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var before = Stopwatch.GetTimestamp();
            var realNs = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
            var after = Stopwatch.GetTimestamp();
            pair = (before + ((after - before) / 2), realNs);
            if (after - before <= tolerance)
            {
                break;
            }
        }

        return pair;
    }

    /// <summary>The <c>SCM_TIMESTAMPNS</c> message's time (ns since the Unix epoch), if the control data holds one.</summary>
    internal static long? Find(ReadOnlySpan<byte> control)
    {
        // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then the data, each message 8-aligned.
        var offset = 0;
        while (offset + 16 <= control.Length)
        {
            var length = (int)BinaryPrimitives.ReadInt64LittleEndian(control[offset..]);
            if (length < 16 || offset + length > control.Length)
            {
                return null;
            }

            if (BinaryPrimitives.ReadInt32LittleEndian(control[(offset + 8)..]) == SolSocket
                && BinaryPrimitives.ReadInt32LittleEndian(control[(offset + 12)..]) == SoTimestampNs
                && length >= 32)
            {
                var seconds = BinaryPrimitives.ReadInt64LittleEndian(control[(offset + 16)..]);
                var nanoseconds = BinaryPrimitives.ReadInt64LittleEndian(control[(offset + 24)..]);
                return seconds * 1_000_000_000 + nanoseconds;
            }

            offset += (length + 7) & ~7;
        }

        return null;
    }

    /// <summary>64-bit Linux <c>struct msghdr</c>: name (8), namelen (4, padded to 8), iov (8), iovlen (8), control (8),
    /// controllen (8), flags (4, padded).</summary>
    private static class MsgHdr
    {
        public const int Size = 56;
        public const int Iov = 16;
        public const int IovLen = 24;
        public const int Control = 32;
        public const int ControlLen = 40;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recvmsg(int fd, byte* msg, int flags);
}
