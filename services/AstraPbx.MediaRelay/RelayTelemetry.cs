using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AstraPbx.MediaRelay;

/// <summary>The relay's span source and metrics (exported by the service defaults: sources and meters <c>AstraPbx.*</c>).
/// No tag ever carries the gateway URL's query string.</summary>
public static class RelayTelemetry
{
    public const string Name = "AstraPbx.MediaRelay";

    /// <summary>Source of the long-lived <c>media-session</c> span (child of the <c>StartAiSession</c> consume span).</summary>
    public static readonly ActivitySource Source = new(Name);

    internal static readonly Meter Meter = new(Name);

    internal static readonly Counter<long> FramesToGateway = Meter.CreateCounter<long>("astrapbx.relay.frames.to_gateway", "{frame}", "Audio frames from Asterisk sent to the gateway");

    internal static readonly Counter<long> FramesToCaller = Meter.CreateCounter<long>("astrapbx.relay.frames.to_caller", "{frame}", "Audio frames (bot audio or silence) written to Asterisk");

    internal static readonly Counter<long> Underruns = Meter.CreateCounter<long>("astrapbx.relay.underruns", "{underrun}", "Times a session's jitter buffer ran dry while playing");
    internal static readonly Counter<long> TrimmedFrames = Meter.CreateCounter<long>("astrapbx.relay.trimmed_frames", "{frame}", "Late bot audio frames dropped to give back delay a gap or missed ticks added; cause: late_audio (a gap the bot's late audio left) or skipped_ticks (the relay's clock stalled, or Asterisk stopped reading)");

    internal static readonly Histogram<double> TickLateness = Meter.CreateHistogram<double>("astrapbx.relay.tick.lateness", "ms", "How late the shared 20 ms playout tick fired");

    internal static readonly Histogram<double> GatewayConnect = Meter.CreateHistogram<double>("astrapbx.relay.gateway.connect.duration", "ms", "DNS + connect + upgrade + handshake to the AI gateway");

    internal static readonly Counter<long> SessionsStarted = Meter.CreateCounter<long>("astrapbx.relay.sessions.prepared", "{session}", "Sessions prepared (AiSessionReady)");

    internal static readonly Counter<long> SessionsFailed = Meter.CreateCounter<long>("astrapbx.relay.sessions.failed", "{session}", "StartAiSession answered with AiSessionFailed, by reason");

    internal static readonly UpDownCounter<long> ActiveSessions = Meter.CreateUpDownCounter<long>("astrapbx.relay.sessions.active", "{session}", "Live sessions (claimed by Asterisk, not ended)");

    internal static readonly Counter<long> AdmissionsRefused = Meter.CreateCounter<long>("astrapbx.relay.admissions.refused", "{connection}", "AudioSocket connections refused, by reason");
}
