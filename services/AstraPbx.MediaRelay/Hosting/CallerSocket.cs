using System.Net.Sockets;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>Socket options of a claimed AudioSocket connection.</summary>
internal static class CallerSocket
{
    // linux/tcp.h: TCP_USER_TIMEOUT, at level IPPROTO_TCP (6).
    private const int TcpUserTimeout = 18;

    /// <summary>Limits how long written audio may stay unacknowledged before the kernel drops the connection
    /// (<c>TCP_USER_TIMEOUT</c>, Linux). The relay writes a frame every 20 ms, so keepalive probes never start; if
    /// Asterisk's host vanishes without a FIN or RST, this is what ends the read with an error (<c>caller-reset</c>)
    /// instead of the kernel retrying for about 15 minutes. A caller who sends nothing is not a failure: a silent
    /// caller or a phone with silence suppression sends no audio at all. Returns false where the option is not
    /// available (not Linux, or no socket).</summary>
    public static bool LimitUnacknowledged(Socket? socket, TimeSpan timeout)
    {
        if (socket is null || !OperatingSystem.IsLinux() || timeout <= TimeSpan.Zero)
        {
            return false;
        }

        try
        {
            socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, TcpUserTimeout, BitConverter.GetBytes((int)timeout.TotalMilliseconds));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
