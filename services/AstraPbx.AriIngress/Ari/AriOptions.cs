using System.ComponentModel.DataAnnotations;

namespace AstraPbx.AriIngress.Ari;

/// <summary>The Asterisk this ingress owns, from the <c>Ari</c> section. Validated at start: a bad value stops the
/// process with a message naming the key (never the value, which may be the password).</summary>
public sealed class AriOptions : IValidatableObject
{
    public const string SectionName = "Ari";

    /// <summary>The ARI hangup reason of the edge fallback when it has no target (or a call loops through it):
    /// <c>congestion</c>, Q.850 cause 34 "Circuit/channel congestion". It says "the network could not serve this call
    /// now, try again" rather than 16 (a normal end, which would hide the failure in the call records) or 17/21 (busy,
    /// rejected: a statement about the callee). Carriers play their "network busy" tone or announcement for it, and it
    /// is what Asterisk's own <c>Congestion()</c> signals.</summary>
    public const string EdgeHangupReason = "congestion";

    private const string DialplanToken = "^[A-Za-z0-9_+*#-]+$";

    /// <summary>Asterisk's HTTP server; REST lives under <c>{BaseUrl}/ari/</c>, events at <c>{BaseUrl}/ari/events</c>.</summary>
    [Required(ErrorMessage = "Setting 'Ari:BaseUrl' is missing.")]
    [Url(ErrorMessage = "Setting 'Ari:BaseUrl' is not an http:// or https:// URL.")]
    public string BaseUrl { get; set; } = "http://127.0.0.1:8088";

    /// <summary>The ARI user (<c>ari.conf</c>).</summary>
    [Required(ErrorMessage = "Setting 'Ari:Username' is missing.")]
    public string Username { get; set; } = "astrapbx";

    /// <summary>The ARI user's password. Sent only in the <c>Authorization</c> header, never in a URL.</summary>
    [Required(ErrorMessage = "Setting 'Ari:Password' is missing.")]
    public string Password { get; set; } = "";

    /// <summary>The Stasis application name (<c>Stasis(astrapbx,...)</c> in the dialplan).</summary>
    [Required(ErrorMessage = "Setting 'Ari:Application' is missing.")]
    [RegularExpression("^[A-Za-z0-9_.-]+$", ErrorMessage = "Setting 'Ari:Application' must be letters, digits, '_', '.' or '-'.")]
    public string Application { get; set; } = "astrapbx";

    /// <summary>The Asterisk server's entity id; names this ingress's command queue
    /// (<c>Endpoints.AriIngressQueue</c>). Empty: learnt from <c>GET /ari/asterisk/info</c> (<c>system.entity_id</c>).</summary>
    public string AsteriskId { get; set; } = "";

    /// <summary>The dialplan context that runs <c>AudioSocket()</c>; used when a <c>ConnectToRelay</c> names none.</summary>
    [Required(ErrorMessage = "Setting 'Ari:AudioSocketContext' is missing.")]
    public string AudioSocketContext { get; set; } = "audiosocket-ai";

    /// <summary>Channel variables read at <c>StasisStart</c> and passed on to the bot, besides <c>ORG_ID</c>, which is
    /// always read (it also fills <c>CallEnteredStasis.OrgId</c>). Never list a variable that holds a secret.</summary>
    public List<string> ChannelVariables { get; set; } = [];

    /// <summary>First reconnect delay of the events socket; doubles per failed attempt, with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00", ErrorMessage = "Setting 'Ari:ReconnectInitialDelay' must be between 1 ms and 10 min.")]
    public TimeSpan ReconnectInitialDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The cap of the reconnect delay.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00", ErrorMessage = "Setting 'Ari:ReconnectMaxDelay' must be between 1 ms and 10 min.")]
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>WebSocket ping interval; a peer that does not answer within <see cref="KeepAliveTimeout"/> is dropped.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Setting 'Ari:KeepAliveInterval' must be between 1 s and 10 min.")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a keep-alive ping may go unanswered before the socket is considered dead.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Setting 'Ari:KeepAliveTimeout' must be between 1 s and 10 min.")]
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Timeout of one REST request.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Setting 'Ari:RequestTimeout' must be between 100 ms and 5 min.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Largest event accepted; a bigger one closes and reopens the socket (then a resync runs).</summary>
    [Range(1024, 64 * 1024 * 1024, ErrorMessage = "Setting 'Ari:MaxEventBytes' must be between 1024 and 67108864.")]
    public int MaxEventBytes { get; set; } = 1024 * 1024;

    /// <summary>How long an ended call is remembered (absorbs late events and redelivered commands).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Setting 'Ari:EndedCallRetention' must be between 1 s and 1 day.")]
    public TimeSpan EndedCallRetention { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Upper bound of calls kept in memory; beyond it the oldest ended calls are forgotten first.</summary>
    [Range(100, 10_000_000, ErrorMessage = "Setting 'Ari:MaxTrackedCalls' must be between 100 and 10000000.")]
    public int MaxTrackedCalls { get; set; } = 100_000;

    /// <summary>The edge fallback's deadline, counted from the moment a Stasis entry was received: when no command for
    /// that entry has been carried out by then, the ingress continues the call to <see cref="EdgeFallbackContext"/>
    /// itself (or hangs up with <see cref="EdgeHangupReason"/>), with the broker, Routing or PostgreSQL down or not. It
    /// sits just above Routing's own worst case (its AI session attempts fit inside
    /// <c>CallEnteredStasis.DecideBy</c> = entry + this).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Setting 'Ari:EdgeFallbackAfter' must be between 100 ms and 10 min.")]
    public TimeSpan EdgeFallbackAfter { get; set; } = TimeSpan.FromMilliseconds(2500);

    /// <summary>The dialplan context of the edge fallback (for example the reception queue's). Set together with
    /// <see cref="EdgeFallbackExtension"/> or not at all; empty: the edge fallback hangs up.</summary>
    [RegularExpression(DialplanToken, ErrorMessage = "Setting 'Ari:EdgeFallbackContext' may hold only letters, digits, '_', '-', '+', '*' and '#'.")]
    public string EdgeFallbackContext { get; set; } = "";

    /// <summary>The extension of the edge fallback in <see cref="EdgeFallbackContext"/>.</summary>
    [RegularExpression(DialplanToken, ErrorMessage = "Setting 'Ari:EdgeFallbackExtension' may hold only letters, digits, '_', '-', '+', '*' and '#'.")]
    public string EdgeFallbackExtension { get; set; } = "";

    /// <summary>The priority of the edge fallback.</summary>
    [Range(1, 100_000, ErrorMessage = "Setting 'Ari:EdgeFallbackPriority' must be between 1 and 100000.")]
    public int EdgeFallbackPriority { get; set; } = 1;

    /// <summary>How many times one call may be sent to the edge fallback target; the next time it comes back into
    /// Stasis with no command it is hung up (<see cref="EdgeHangupReason"/>). The fallback (a queue that times out back
    /// into Stasis) is sent again once, but a call must not circle between it and an ingress that gets no commands.</summary>
    [Range(1, 100, ErrorMessage = "Setting 'Ari:EdgeFallbackMaxPerCall' must be between 1 and 100.")]
    public int EdgeFallbackMaxPerCall { get; set; } = 2;

    /// <summary>True when the edge fallback has a dialplan target; otherwise it hangs up.</summary>
    public bool HasEdgeFallbackTarget => EdgeFallbackContext.Length > 0 && EdgeFallbackExtension.Length > 0;

    /// <summary>The edge fallback target as <c>context,extension,priority</c>.</summary>
    public string EdgeFallbackTarget => $"{EdgeFallbackContext},{EdgeFallbackExtension},{EdgeFallbackPriority}";

    /// <summary>The REST root, <c>{BaseUrl}/ari/</c>.</summary>
    public Uri RestRoot => new(BaseUrl.TrimEnd('/') + "/ari/");

    /// <summary>The events socket for <see cref="Application"/>; carries no credentials.</summary>
    public Uri EventsUri
    {
        get
        {
            var builder = new UriBuilder(RestRoot);
            builder.Scheme = builder.Scheme == Uri.UriSchemeHttps ? "wss" : "ws";
            builder.Path += "events";
            builder.Query = "app=" + Uri.EscapeDataString(Application) + "&subscribeAll=false";
            return builder.Uri;
        }
    }

    /// <summary>The edge fallback's target is whole or absent: a context without an extension is a typo, not "hang up".</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if ((EdgeFallbackContext.Length == 0) != (EdgeFallbackExtension.Length == 0))
        {
            yield return new ValidationResult("Settings 'Ari:EdgeFallbackContext' and 'Ari:EdgeFallbackExtension' go together: set both or neither.",
                [nameof(EdgeFallbackContext), nameof(EdgeFallbackExtension)]);
        }
    }
}
