namespace AstraPbx.MediaRelay.Gateway;

/// <summary>A bound the gateway's bot broke (issue 12 item 4): everything a bot controls is bounded, so one bot cannot
/// exhaust the relay's memory; over a bound its session fails, never a neighbour's.</summary>
internal enum GatewayViolation
{
    /// <summary>A text message longer than <c>Relay:MaxGatewayTextMessageBytes</c>.</summary>
    TextMessageTooLarge,

    /// <summary>JSON nested deeper than <c>Relay:MaxGatewayJsonDepth</c>.</summary>
    JsonTooDeep,

    /// <summary>A <c>mark</c> name longer than <c>Relay:MaxMarkNameLength</c> UTF-8 bytes.</summary>
    MarkNameTooLong,

    /// <summary>More than <c>Relay:MaxPendingMarks</c> marks waiting for their audio to play.</summary>
    TooManyMarks,
}
