namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The bounds on what a gateway may send one session (<see cref="RelayOptions"/> holds the settings).</summary>
/// <param name="MaxTextMessageBytes">A whole text message's length.</param>
/// <param name="MaxJsonDepth">Nested JSON objects and arrays, the outermost counted.</param>
/// <param name="MaxMarkNameBytes">A <c>mark</c> name's length in UTF-8 bytes.</param>
internal readonly record struct GatewayLimits(int MaxTextMessageBytes, int MaxJsonDepth, int MaxMarkNameBytes)
{
    /// <summary>The settings' defaults.</summary>
    public static GatewayLimits Default { get; } = new(
        RelayOptions.DefaultMaxGatewayTextMessageBytes, RelayOptions.DefaultMaxGatewayJsonDepth, RelayOptions.DefaultMaxMarkNameLength);

    /// <summary>The bounds a relay's settings give.</summary>
    public static GatewayLimits From(RelayOptions options) =>
        new(options.MaxGatewayTextMessageBytes, options.MaxGatewayJsonDepth, options.MaxMarkNameLength);
}
