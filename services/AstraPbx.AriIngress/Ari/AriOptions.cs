using System.ComponentModel.DataAnnotations;

namespace AstraPbx.AriIngress.Ari;

/// <summary>The Asterisk this ingress owns, from the <c>Ari</c> section. Validated at start: a bad value stops the
/// process with a message naming the key (never the value, which may be the password).</summary>
public sealed class AriOptions
{
    public const string SectionName = "Ari";

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
}
