namespace AstraPbx.AriIngress.Warmup;

/// <summary>The event and REST shapes of one recorded AI call (shared/ari-samples, ids changed), for the warm-up.</summary>
internal static class AriSamples
{
    public const string Channel = """
        {"id":"warmup.1","name":"Local/1003@org_demo_internal-00000003;2","state":"Up","protocol_id":"",
         "caller":{"name":"Test Caller","number":"08065978002"},"connected":{"name":"Test Caller","number":"08065978002"},
         "accountcode":"","dialplan":{"context":"org_demo_internal","exten":"1003","priority":3,"app_name":"Stasis",
         "app_data":"astrapbx,ai_agent,73c9ef8e-003f-420a-a742-fe710186ccf0"},"creationtime":"2026-11-23T21:22:36.619+0000",
         "language":"en","channelvars":{"ORG_ID":"org_warmup"}}
        """;

    public const string StasisStart = """
        {"type":"StasisStart","timestamp":"2026-11-23T21:22:36.620+0000","args":["ai_agent","73c9ef8e-003f-420a-a742-fe710186ccf0"],
         "channel":
        """ + Channel + """
        ,"asterisk_id":"02:fc:00:00:00:01","application":"astrapbx"}
        """;

    /// <summary>A StasisStart for channel <paramref name="channelId"/> whose channel carries no <c>channelvars</c> (as
    /// Asterisk sends it unless told to), so the ingress reads the variables.</summary>
    public static string BareStasisStart(string channelId) =>
        StasisStart.Replace(""","channelvars":{"ORG_ID":"org_warmup"}""", "", StringComparison.Ordinal)
            .Replace("warmup.1", channelId, StringComparison.Ordinal);

    /// <summary>An event of <paramref name="type"/> about channel <paramref name="channelId"/>, with a hangup cause.</summary>
    public static string ChannelEvent(string type, string channelId) =>
        $$"""{"type":"{{type}}","timestamp":"2026-11-23T21:22:42.622+0000","cause":16,"cause_txt":"Normal Clearing","channel":{{Channel.Replace("warmup.1", channelId, StringComparison.Ordinal)}},"asterisk_id":"02:fc:00:00:00:01","application":"astrapbx"}""";

    public static readonly string[] Events =
    [
        StasisStart,
        """{"type":"ChannelStateChange","timestamp":"2026-11-23T21:22:36.621+0000","channel":""" + Channel + ""","asterisk_id":"02:fc:00:00:00:01","application":"astrapbx"}""",
        """{"variable":"AUDIOSOCKET_UUID","value":"0b1c6a6e-4b7e-4f0e-9d0e-1e2f3a4b5c6d","type":"ChannelVarset","timestamp":"2026-11-23T21:22:36.623+0000","channel":""" + Channel + ""","asterisk_id":"02:fc:00:00:00:01","application":"astrapbx"}""",
        """{"type":"StasisEnd","timestamp":"2026-11-23T21:22:36.624+0000","channel":""" + Channel + ""","asterisk_id":"02:fc:00:00:00:01","application":"astrapbx"}""",
        """{"type":"ChannelDialplan","timestamp":"2026-11-23T21:22:36.625+0000","dialplan_app":"AudioSocket","dialplan_app_data":"0b1c6a6e-4b7e-4f0e-9d0e-1e2f3a4b5c6d,127.0.0.1:9099","channel":""" + Channel + ""","asterisk_id":"02:fc:00:00:00:01","application":"astrapbx"}""",
        """{"type":"ChannelDtmfReceived","timestamp":"2026-11-23T21:22:37.000+0000","digit":"5","duration_ms":120,"channel":""" + Channel + ""","asterisk_id":"02:fc:00:00:00:01","application":"astrapbx"}""",
        """{"cause":16,"soft":true,"type":"ChannelHangupRequest","timestamp":"2026-11-23T21:22:42.622+0000","channel":""" + Channel + ""","asterisk_id":"02:fc:00:00:00:01","application":"astrapbx"}""",
        """{"type":"ChannelDestroyed","timestamp":"2026-11-23T21:22:42.622+0000","cause":16,"cause_txt":"Normal Clearing","channel":""" + Channel + ""","asterisk_id":"02:fc:00:00:00:01","application":"astrapbx"}""",
    ];
}
