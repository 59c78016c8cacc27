using System.Net.WebSockets;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>An open gateway WebSocket and the stream under it that runs its keep-alive (<see cref="GatewayStream"/>).</summary>
public sealed class GatewayConnection : IDisposable
{
    internal GatewayConnection(WebSocket socket, GatewayStream transport)
    {
        Socket = socket;
        Transport = transport;
    }

    public WebSocket Socket { get; }

    internal GatewayStream Transport { get; }

    public void Dispose() => Socket.Dispose();
}
