namespace AstraPbx.MediaRelay.Gateway;

/// <summary>One decoded message from the gateway. <see cref="Pcm"/> points into the received message (binary mode) or
/// into the buffer the caller gave the codec (Twilio <c>media</c>), so nothing is allocated per frame.</summary>
internal readonly ref struct GatewayMessage
{
    private GatewayMessage(GatewayEventKind kind, ReadOnlySpan<byte> pcm, string? markName)
    {
        Kind = kind;
        Pcm = pcm;
        MarkName = markName;
    }

    public GatewayEventKind Kind { get; }

    /// <summary>The bot audio of a <see cref="GatewayEventKind.Media"/> message (16-bit little-endian PCM, 8 kHz); empty
    /// for the other kinds and for a media event without payload.</summary>
    public ReadOnlySpan<byte> Pcm { get; }

    /// <summary>The name of a <see cref="GatewayEventKind.Mark"/>; null when the mark has none.</summary>
    public string? MarkName { get; }

    public static GatewayMessage Media(ReadOnlySpan<byte> pcm) => new(GatewayEventKind.Media, pcm, null);

    public static GatewayMessage Mark(string? name) => new(GatewayEventKind.Mark, default, name);

    public static GatewayMessage Of(GatewayEventKind kind) => new(kind, default, null);
}
