namespace AstraPbx.MediaRelay.Sessions;

/// <summary>What a leg sees of the session it belongs to: whose call it is (for the logs), whether the session is
/// ending, and how to end it. Whichever side sees the end first calls <see cref="EndAsync"/>; the session ends once.</summary>
internal interface ISessionControl
{
    string CallId { get; }

    Guid SessionId { get; }

    /// <summary>True once the end has started.</summary>
    bool IsEnded { get; }

    /// <summary>Ends the session (once; later calls return at once).</summary>
    Task EndAsync(EndReason reason);
}
