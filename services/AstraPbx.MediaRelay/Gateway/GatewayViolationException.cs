namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The gateway broke a bound (<see cref="Violation"/>). An <see cref="IOException"/> (the gateway's stream is
/// unusable), so the gateway leg's receive loop ends the session as failed (the bot's fault, not the relay's) and no
/// other session. <see cref="System.Net.WebSockets.WebSocketException"/> would say the same but is sealed.</summary>
internal sealed class GatewayViolationException(GatewayViolation violation)
    : IOException($"The gateway broke a bound: {violation}.")
{
    public GatewayViolation Violation { get; } = violation;
}
