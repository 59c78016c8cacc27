namespace AstraPbx.Simulators.AudioSocket;

/// <summary>How a simulated AudioSocket call ended.</summary>
public enum CallerEnd
{
    /// <summary>The caller hung up (closed the socket).</summary>
    CallerHungUp,

    /// <summary>The relay sent 0x00: AudioSocket() returned, the dialplan continues.</summary>
    RelayHungUp,

    /// <summary>The relay closed the connection without a 0x00 frame.</summary>
    RelayClosed,

    /// <summary>The relay sent a kind Asterisk rejects, or an empty audio frame: Asterisk ends the call.</summary>
    RejectedFrame,

    /// <summary>The connection broke (reset).</summary>
    ConnectionLost,
}
