namespace AstraPbx.Routing.Resolution;

/// <summary>The reasons a decision names (<c>CallRouted.Reason</c>).</summary>
public static class Reasons
{
    public const string Ok = "ok";
    public const string Loop = "loop";
    public const string DeadEnd = "dead-end";
    public const string TooDeep = "too-deep";
    public const string UserNotFound = "user-not-found";
    public const string ExtensionNotFound = "extension-not-found";
    public const string QueueNotFound = "queue-not-found";
    public const string UserInactive = "user-inactive";
    public const string InvalidGatewayUrl = "invalid-gateway-url";
    public const string InvalidPhoneNumber = "invalid-phone-number";
    public const string InvalidEndpoint = "invalid-endpoint";
    public const string InvalidExtension = "invalid-extension";
    public const string UnknownRoutingType = "unknown-routing-type";
    public const string UnknownStasisArgs = "unknown-stasis-args";
    public const string BadStasisArgument = "bad-stasis-argument";
    public const string NoTimeoutDestination = "no-timeout-destination";
    public const string RelayFailed = "relay-failed";
    public const string TooManyStasisEntries = "too-many-stasis-entries";
    public const string AiSessionFailedPrefix = "ai-session-failed:";

    /// <summary>A wideband AI leg ended because the bot ended the call (the relay's reason follows): hang up.</summary>
    public const string BotEndedPrefix = "bot-ended:";

    /// <summary>A wideband AI leg ended and no <c>AiSessionEnded</c> for it was recorded in time (a relay that died).</summary>
    public const string AiSessionEndUnknown = "ai-session-end-unknown";
    public const string FallbackAlreadyTaken = "fallback-already-taken:";

    /// <summary>The database did not answer (after one quick retry): the call went to the fallback without it.</summary>
    public const string DatabaseUnavailable = "database-unavailable";

    /// <summary>Every relay heard from recently said it has no room (<c>RelayCapacity</c>): no request was sent.</summary>
    public const string NoRelayCapacity = "no-relay-capacity";

    /// <summary>Too little time was left before the ingress's edge deadline to ask a relay at all.</summary>
    public const string NoTimeLeft = "no-time-left";
}
