using System.ComponentModel.DataAnnotations;
using System.Net;

namespace AstraPbx.MediaRelay;

/// <summary>The relay's settings, section <c>Relay</c>. Validated at start: a bad value stops the process with the key's name.</summary>
public sealed class RelayOptions : IValidatableObject
{
    public const string SectionName = "Relay";

    internal const int DefaultMaxPendingMarks = 256;
    internal const int DefaultMaxMarkNameLength = 256;
    internal const int DefaultMaxGatewayTextMessageBytes = 64 * 1024;
    internal const int DefaultMaxGatewayJsonDepth = 16;

    /// <summary>The interface the AudioSocket listener binds (only this one: AudioSocket has no authentication).</summary>
    [Required(ErrorMessage = "Relay:ListenAddress is required.")]
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>The AudioSocket TCP port; 0 picks a free port (tests).</summary>
    [Range(0, 65535, ErrorMessage = "Relay:AudioSocketPort must be 0-65535.")]
    public int AudioSocketPort { get; set; } = 9092;

    /// <summary>The <c>host:port</c> Asterisk dials, sent in <c>AiSessionReady</c> (e.g. the pod IP). Empty: the
    /// listen address and the bound port.</summary>
    public string? AdvertisedEndpoint { get; set; }

    /// <summary>Pending plus live sessions this relay holds at most; beyond it <c>StartAiSession</c> fails over-capacity.</summary>
    [Range(1, 100_000, ErrorMessage = "Relay:MaxSessions must be 1-100000.")]
    public int MaxSessions { get; set; } = 1000;

    /// <summary><c>StartAiSession</c> messages prepared at once by this relay (consumer concurrency).</summary>
    [Range(1, 1000, ErrorMessage = "Relay:PrepareConcurrency must be 1-1000.")]
    public int PrepareConcurrency { get; set; } = 32;

    /// <summary>DNS + TCP + TLS + WebSocket upgrade + handshake must finish within this.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Relay:GatewayConnectTimeout must be 0.1 s - 5 min.")]
    public TimeSpan GatewayConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A prepared session Asterisk has not claimed by then is closed and reported (<c>not-claimed</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Relay:PendingSessionExpiry must be 0.1 s - 10 min.")]
    public TimeSpan PendingSessionExpiry { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An AudioSocket connection must send its UUID frame within this.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00", ErrorMessage = "Relay:UuidWait must be 50 ms - 1 min.")]
    public TimeSpan UuidWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A live call whose Asterisk side started a frame and did not finish it within this is ended
    /// (<c>caller-idle</c>). Silence between whole frames is not idleness: a silent caller, or a phone with silence
    /// suppression, sends no audio at all while the bot speaks (issue 12).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Relay:CallerIdleTimeout must be 0.1 s - 10 min.")]
    public TimeSpan CallerIdleTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Audio written to Asterisk that stays unacknowledged this long ends the call (<c>TCP_USER_TIMEOUT</c> on
    /// the claimed connection, Linux): Asterisk's host vanished without closing. 0 leaves the kernel's default (about
    /// 15 minutes of retries).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Relay:CallerAckTimeout must be 0 - 10 min.")]
    public TimeSpan CallerAckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>On SIGTERM or StartDrain, live calls may run this long before the relay ends them with 0x00.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Relay:DrainTimeout must be 0 - 1 h.")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Bot audio buffered before playout starts (absorbs gateway jitter), in milliseconds.</summary>
    [Range(0, 2000, ErrorMessage = "Relay:JitterTargetMs must be 0-2000.")]
    public int JitterTargetMs { get; set; } = 40;

    /// <summary>Most bot audio held per session, in milliseconds; beyond it the oldest audio is dropped. Large because
    /// TTS arrives in bursts far faster than real time.</summary>
    [Range(100, 600_000, ErrorMessage = "Relay:JitterCapMs must be 100-600000.")]
    public int JitterCapMs { get; set; } = 120_000;

    /// <summary>Marks a bot may have waiting for their audio to play (before the claim too); one more fails the
    /// session (<c>TooManyMarks</c>): a mark flood must not grow the relay's memory.</summary>
    [Range(1, 100_000, ErrorMessage = "Relay:MaxPendingMarks must be 1-100000.")]
    public int MaxPendingMarks { get; set; } = DefaultMaxPendingMarks;

    /// <summary>Longest mark name, in UTF-8 bytes; a longer one fails the session (<c>MarkNameTooLong</c>).</summary>
    [Range(1, 65_536, ErrorMessage = "Relay:MaxMarkNameLength must be 1-65536.")]
    public int MaxMarkNameLength { get; set; } = DefaultMaxMarkNameLength;

    /// <summary>Longest text (JSON) message from a gateway, in bytes; a longer one fails the session
    /// (<c>TextMessageTooLarge</c>). A 20 ms Twilio media message is about 300 bytes.</summary>
    [Range(1024, 1024 * 1024, ErrorMessage = "Relay:MaxGatewayTextMessageBytes must be 1024-1048576.")]
    public int MaxGatewayTextMessageBytes { get; set; } = DefaultMaxGatewayTextMessageBytes;

    /// <summary>Deepest JSON nesting in a gateway message (Twilio's events need 2); deeper fails the session
    /// (<c>JsonTooDeep</c>).</summary>
    [Range(2, 64, ErrorMessage = "Relay:MaxGatewayJsonDepth must be 2-64.")]
    public int MaxGatewayJsonDepth { get; set; } = DefaultMaxGatewayJsonDepth;

    /// <summary>How long a resolved gateway host name is reused (the seed lost 6 s per lookup to a slow resolver).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Relay:DnsCacheTtl must be 1 s - 1 day.")]
    public TimeSpan DnsCacheTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Run socket completions and Kestrel's pipe continuations inline (no thread-pool hop per frame). The
    /// process must also start with <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, which Program sets when this
    /// is on and the variable is absent.</summary>
    public bool InlineIo { get; set; } = true;

    /// <summary>Once a session is ticked, its gateway socket is read by its playout tick (one non-blocking <c>recv</c> per
    /// tick while the bot sends; epoll while it is quiet) instead of by the socket engine on every message
    /// (<see cref="Gateway.TickedSocketStream"/>). Off: every read is an ordinary async read.</summary>
    public bool TickedGatewayReads { get; set; } = true;

    /// <summary>Once a session is claimed, its AudioSocket connection is read by its playout tick (one non-blocking
    /// <c>recv</c> per tick while Asterisk sends; epoll while the caller is quiet) instead of by the socket engine on every
    /// frame (<see cref="Hosting.CallerConnection"/>). Off: every read is an ordinary async read.</summary>
    public bool TickedCallerReads { get; set; } = true;

    /// <summary>The AudioSocket and gateway sockets wait for readiness on the relay's own epoll, armed only while a read
    /// or send waits (<see cref="Io.Readiness"/>), instead of in .NET's socket engine, which wakes for every segment of
    /// every socket it has seen wait once. Linux only; elsewhere, and off, the socket engine.</summary>
    public bool OwnSocketWaits { get; set; } = true;

    /// <summary>Playout threads (lanes) the sessions are spread over; all tick on the one shared schedule. 0: one per
    /// processor.</summary>
    [Range(0, 64, ErrorMessage = "Relay:PlayoutThreads must be 0-64.")]
    public int PlayoutThreads { get; set; }

    /// <summary>This relay's name in replies, events and the admin API. Empty: the machine (pod) name.</summary>
    public string? InstanceName { get; set; }

    /// <summary>The listen address, parsed (valid after validation).</summary>
    public IPAddress ListenIp => IPAddress.Parse(ListenAddress);

    /// <summary>Instance name with its default applied.</summary>
    public string Instance => string.IsNullOrWhiteSpace(InstanceName) ? Environment.MachineName : InstanceName;

    /// <summary>How often the relay pings the gateway's WebSocket. With <see cref="GatewayKeepAliveTimeout"/> it bounds
    /// how long a partitioned bot goes unnoticed (interval + timeout: 3.5 s by default, so that the caller reaches the
    /// fallback within 5 s of the partition; the end-to-end test measured 5.2-5.8 s with 2 s + 3 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Relay:GatewayKeepAliveInterval must be 0.1 s - 5 min.")]
    public TimeSpan GatewayKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the gateway has to answer a ping with a pong before the session ends as
    /// <c>gateway-keepalive-timeout</c> and the caller goes to the fallback.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Relay:GatewayKeepAliveTimeout must be 0.1 s - 5 min.")]
    public TimeSpan GatewayKeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(2.5);

    /// <summary>Caller audio frames (20 ms each) per message to the gateway. 1 sends each frame as it arrives; 2 sends
    /// 40 ms messages, as Pipecat itself sends, for half the uplink messages (CPU) at up to 20 ms more uplink delay.</summary>
    [Range(1, 5, ErrorMessage = "Relay:UplinkFramesPerMessage must be 1-5.")]
    public int UplinkFramesPerMessage { get; set; } = 1;

    /// <summary>The caller frames a playout tick reads go to their bots in one run of sends after the lane's reads, instead of
    /// one send after each read (<see cref="Io.SendPass"/>): a bot on the same machine is woken once for several messages,
    /// which the relay's core pays for, at microseconds of uplink delay. Off: each frame is sent as it is read.</summary>
    public bool UplinkSendPass { get; set; } = true;

    /// <summary>How long one send to the gateway may take (a bot that stopped reading fills the socket) before the
    /// session ends as <c>gateway-send-timeout</c> and the caller goes to the fallback.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Relay:GatewaySendTimeout must be 0.1 s - 1 min.")]
    public TimeSpan GatewaySendTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!IPAddress.TryParse(ListenAddress, out var ip))
        {
            yield return new ValidationResult("Relay:ListenAddress must be an IP address (the one interface Asterisk reaches the relay on).", [nameof(ListenAddress)]);
        }
        else if ((ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)) && string.IsNullOrWhiteSpace(AdvertisedEndpoint))
        {
            yield return new ValidationResult("Relay:AdvertisedEndpoint is required when Relay:ListenAddress is a wildcard.", [nameof(AdvertisedEndpoint)]);
        }

        if (!string.IsNullOrWhiteSpace(AdvertisedEndpoint) && !TryParseHostPort(AdvertisedEndpoint, out _, out _))
        {
            yield return new ValidationResult("Relay:AdvertisedEndpoint must be host:port.", [nameof(AdvertisedEndpoint)]);
        }
    }

    internal static bool TryParseHostPort(string value, out string host, out int port)
    {
        host = "";
        port = 0;
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), out port) || port is < 1 or > 65535)
        {
            return false;
        }

        host = value[..colon];
        return true;
    }
}
