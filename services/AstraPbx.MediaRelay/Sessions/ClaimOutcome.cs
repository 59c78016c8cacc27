namespace AstraPbx.MediaRelay.Sessions;

/// <summary>How an AudioSocket UUID fared at admission.</summary>
internal enum ClaimOutcome
{
    Claimed,
    Unknown,
    AlreadyClaimed,

    /// <summary>The session ended before Asterisk connected (its bot closed or failed, or it expired unclaimed).</summary>
    EndedBeforeClaim,
}
