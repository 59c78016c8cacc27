using AstraPbx.AriIngress.Ari;

namespace AstraPbx.AriIngress.Calls;

/// <summary>Asterisk could not carry out a command right now (5xx, unreachable, credentials); the consumer retries.
/// The message holds the status only, never a URL or credentials.</summary>
public sealed class AriUnavailableException(string command, AriResult result)
    : Exception($"{command} for call {result.ChannelId} failed: {result}")
{
    public AriResult Result { get; } = result;
}
