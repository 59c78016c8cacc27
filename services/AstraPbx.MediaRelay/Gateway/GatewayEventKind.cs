namespace AstraPbx.MediaRelay.Gateway;

/// <summary>What a message from the gateway asks of the relay (Twilio Media Streams events, PROTOCOLS.md 2). The names
/// of the control kinds appear in the debug log as they are.</summary>
internal enum GatewayEventKind
{
    /// <summary>Anything the relay does not act on (unknown events, <c>dtmf</c>, binary audio in Twilio mode).</summary>
    Other,

    /// <summary>Bot audio: 16-bit little-endian PCM at 8 kHz, for the jitter buffer.</summary>
    Media,

    /// <summary><c>clear</c>: drop the bot audio not yet played (barge-in).</summary>
    Clear,

    /// <summary><c>mark</c>: echo the name back once the audio queued before it has played.</summary>
    Mark,

    /// <summary><c>stop</c>: the bot ends the call.</summary>
    Stop,

    /// <summary>A text message that is not JSON, or a <c>media</c> payload that is not base64.</summary>
    Unparseable,
}
