using System.Net.WebSockets;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>An open gateway WebSocket and the stream under it that runs its keep-alive (<see cref="GatewayStream"/>).</summary>
public sealed class GatewayConnection : IDisposable
{
    internal GatewayConnection(GatewayWebSocket socket, GatewayStream transport)
    {
        Own = socket;
        Transport = transport;
    }

    /// <summary>The relay's own WebSocket client over the connection (<see cref="GatewayWebSocket"/>).</summary>
    public WebSocket Socket => Own;

    internal GatewayWebSocket Own { get; }

    internal GatewayStream Transport { get; }

    public void Dispose() => Socket.Dispose();
}
