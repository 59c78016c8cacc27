namespace AstraPbx.Simulators.AudioSocket;

/// <summary>How a simulated AudioSocket call ended. Under <c>TryExec(AudioSocket(...))</c> the relay's 0x00 and a
/// graceful close give <c>TRYSTATUS=SUCCESS</c>; a reset, a rejected frame and the idle timeout give <c>FAILED</c>
/// (PROTOCOLS.md 1, app_audiosocket.c <c>audiosocket_run</c>).</summary>
public enum CallerEnd
{
    /// <summary>The caller hung up (closed the socket).</summary>
    CallerHungUp,

    /// <summary>The relay sent 0x00: AudioSocket() returned 0, the dialplan continues.</summary>
    RelayHungUp,

    /// <summary>The relay closed the connection gracefully (FIN) without a 0x00 frame: res_audiosocket reads 0 bytes
    /// and treats it as the 0x00 hangup, so AudioSocket() returns 0.</summary>
    RelayClosed,

    /// <summary>The relay sent a kind Asterisk rejects, or an empty audio frame: AudioSocket() returns -1.</summary>
    RejectedFrame,

    /// <summary>The connection broke (a reset, or a read or write error): AudioSocket() returns -1.</summary>
    ConnectionLost,

    /// <summary>Nothing arrived from the relay and the caller sent nothing for
    /// <see cref="CallerOptions.IdleTimeout"/> (app_audiosocket's 2000 ms <c>MAX_WAIT_TIMEOUT_MSEC</c>): Asterisk logs
    /// "Reached timeout after 2000 ms of no activity", AudioSocket() returns -1 and the socket is closed.</summary>
    IdleTimeout,
}
