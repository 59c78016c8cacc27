namespace AstraPbx.Audio.AudioSocket;

/// <summary>The kind byte of an AudioSocket frame (<c>include/asterisk/res_audiosocket.h</c>).</summary>
public enum AudioSocketKind : byte
{
    /// <summary>Relay -> Asterisk: end AudioSocket(); the dialplan continues. Length 0. Asterisk never sends it:
    /// a caller hangup closes the socket instead.</summary>
    Hangup = 0x00,

    /// <summary>Asterisk -> relay, always the first frame: 16 bytes, the binary session UUID (RFC 4122 byte order).</summary>
    Uuid = 0x01,

    /// <summary>Asterisk -> relay: 1 byte, the ASCII DTMF digit ('0'-'9', '*', '#', 'A'-'D').</summary>
    Dtmf = 0x03,

    /// <summary>Both ways: 16-bit signed little-endian PCM, mono, 8 kHz (the AudioSocket() application's rate).</summary>
    Slin = 0x10,

    /// <summary>slin at 12 kHz (channel driver only).</summary>
    Slin12 = 0x11,

    /// <summary>slin at 16 kHz (channel driver, <c>c(slin16)</c>): 640-byte frames every 20 ms.</summary>
    Slin16 = 0x12,

    /// <summary>slin at 24 kHz.</summary>
    Slin24 = 0x13,

    /// <summary>slin at 32 kHz.</summary>
    Slin32 = 0x14,

    /// <summary>slin at 44.1 kHz.</summary>
    Slin44 = 0x15,

    /// <summary>slin at 48 kHz.</summary>
    Slin48 = 0x16,

    /// <summary>slin at 96 kHz.</summary>
    Slin96 = 0x17,

    /// <summary>slin at 192 kHz.</summary>
    Slin192 = 0x18,

    /// <summary>Asterisk -> relay: an error, with an optional error code payload.</summary>
    Error = 0xFF,
}
