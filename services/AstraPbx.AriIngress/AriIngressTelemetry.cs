using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AstraPbx.AriIngress;

/// <summary>The ingress's spans and metrics. The service defaults export every <c>AstraPbx.*</c> source and meter.</summary>
public static class AriIngressTelemetry
{
    public const string SourceName = "AstraPbx.AriIngress";

    /// <summary>The span tag every call-related span carries.</summary>
    public const string CallIdTag = "astrapbx.call_id";

    public const string AsteriskIdTag = "astrapbx.asterisk_id";

    /// <summary>Starts each call's trace (<c>call</c>) and wraps each ARI request (<c>ari &lt;operation&gt;</c>).</summary>
    public static readonly ActivitySource Source = new(SourceName);

    public static readonly Meter Meter = new(SourceName);

    /// <summary>StasisStart received to the answer request leaving.</summary>
    public static readonly Histogram<double> AnswerSent =
        Meter.CreateHistogram<double>("astrapbx.ari_ingress.answer_sent", "ms", "StasisStart received to answer request sent");

    /// <summary>StasisStart received to the answer's response.</summary>
    public static readonly Histogram<double> Answered =
        Meter.CreateHistogram<double>("astrapbx.ari_ingress.answered", "ms", "StasisStart received to answer completed");

    /// <summary>StasisStart received to CallEnteredStasis queued for the bus (the outbound queue publishes it).</summary>
    public static readonly Histogram<double> Published =
        Meter.CreateHistogram<double>("astrapbx.ari_ingress.published", "ms", "StasisStart received to CallEnteredStasis queued for the bus");

    public static readonly Counter<long> SkippedEvents =
        Meter.CreateCounter<long>("astrapbx.ari_ingress.skipped_events", description: "Malformed, unknown or oversized ARI events");

    /// <summary>Stasis entries the ingress decided itself because no command came in time; tag <c>outcome</c>:
    /// <c>fallback</c> (continued to Ari:EdgeFallbackContext) or <c>hangup</c>.</summary>
    public static readonly Counter<long> EdgeFallbacks =
        Meter.CreateCounter<long>("astrapbx.ari_ingress.edge_fallbacks", description: "Stasis entries decided by the ingress's edge fallback");

    /// <summary>Commands not carried out because their entry was not the current one or was already decided; tag <c>command</c>.</summary>
    public static readonly Counter<long> LateCommands =
        Meter.CreateCounter<long>("astrapbx.ari_ingress.late_commands", description: "Commands ignored as late (wrong or already decided Stasis entry)");
}
