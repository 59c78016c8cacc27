namespace AstraPbx.Contracts.Media;

/// <summary>Which side ended an AI session.</summary>
public enum SessionEndedBy
{
    /// <summary>Asterisk closed the AudioSocket (the caller hung up).</summary>
    Caller = 0,

    /// <summary>The gateway sent <c>stop</c>, closed the socket, or failed mid-call.</summary>
    Gateway = 1,

    /// <summary>The relay ended it: drain timeout, malformed input, or shutdown.</summary>
    Relay = 2,

    /// <summary>Asterisk never connected for the prepared session before it expired.</summary>
    NotClaimed = 3,
}
