namespace AstraPbx.LocalRun.Faults;

/// <summary>The calls a fault scenario places, each an <c>ai_agent,&lt;user id&gt;</c> Stasis entry of the seed's
/// organisation.</summary>
public enum FaultCallKind
{
    /// <summary>To 1003, the AI bot (the deployment's echoing gateway): continued into the AudioSocket context.</summary>
    Bot,

    /// <summary>To a bot whose gateway never answers (<see cref="SilentGateway"/>): Routing waits on StartAiSession,
    /// then sends the fallback.</summary>
    SlowBot,

    /// <summary>To 1001, a SIP user: continued in the dialplan to its extension.</summary>
    SipUser,
}
