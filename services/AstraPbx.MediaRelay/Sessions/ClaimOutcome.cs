namespace AstraPbx.MediaRelay.Sessions;

/// <summary>How an AudioSocket UUID fared at admission.</summary>
internal enum ClaimOutcome
{
    Claimed,
    Unknown,
    AlreadyClaimed,
}
