namespace AstraPbx.Contracts.Media;

/// <summary>How audio crosses the AI gateway WebSocket after the handshake (PROTOCOLS.md section 2).</summary>
public enum MediaMode
{
    /// <summary>Binary frames of raw 16-bit signed little-endian PCM, 8 kHz mono, both directions.</summary>
    AstraPbxBinary = 0,

    /// <summary>Twilio Media Streams: JSON text frames with base64 G.711 mu-law at 8 kHz.</summary>
    Twilio = 1,
}
