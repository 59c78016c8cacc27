namespace AstraPbx.Contracts.Calls;

/// <summary>What Routing decided a call becomes.</summary>
public enum RouteOutcome
{
    /// <summary>The call is handed to an AI gateway through a media relay.</summary>
    AiAgent = 0,

    /// <summary>The call continues in the Asterisk dialplan (SIP user, queue or phone number).</summary>
    Dialplan = 1,

    /// <summary>The call went to the configured fallback because the route could not be followed.</summary>
    Fallback = 2,

    /// <summary>The call is hung up.</summary>
    Hangup = 3,
}
