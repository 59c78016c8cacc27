using AstraPbx.Contracts.Media;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>Why a gateway connection could not be made; the message never carries the URL's query string.</summary>
public sealed class GatewayConnectException(AiSessionFailure reason, string detail, Exception? inner = null)
    : Exception(detail, inner)
{
    public AiSessionFailure Reason { get; } = reason;
}
