using AstraPbx.Contracts.Media;

namespace AstraPbx.Simulators.Gateway;

/// <summary>What the relay's <c>start</c> frame said, as far as <see cref="GatewayHandshake.ValidateStart"/> read it.</summary>
internal sealed class StartFrame
{
    public string? StreamSid { get; set; }

    public string? CallSid { get; set; }

    public IReadOnlyDictionary<string, string> CustomParameters { get; set; } = new Dictionary<string, string>();

    public MediaMode Mode { get; set; } = MediaMode.Twilio;

    /// <summary><c>start.mediaFormat.encoding</c>.</summary>
    public string? Encoding { get; set; }

    /// <summary><c>start.mediaFormat.sampleRate</c>; 8000 when absent.</summary>
    public int SampleRate { get; set; } = 8000;
}
