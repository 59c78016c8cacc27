using System.Collections.Concurrent;
using System.Diagnostics;
using AstraPbx.ServiceDefaults.Telemetry;
using OpenTelemetry;

namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>Traces for the warm-up's synthetic passes: recorded like a call's, never exported. A pass runs under a root
/// span of its own (<see cref="Begin"/>), so the tracing code of the call path (the services' own spans, MassTransit's
/// send and consume activities and their tags, Npgsql's and HttpClient's) runs and is compiled during the warm-up
/// instead of during the first real calls (measured with <c>DOTNET_JitStdOutFile</c>: with the passes' spans suppressed,
/// this code was first compiled during the first 100 calls of <c>bench-setup</c>, docs/benchmarks.md, "Issue 13,
/// session 10"). <see cref="WarmupSpanFilter"/> drops every span of such a trace before export, in this process and in
/// the consumer of a message a pass sent (the trace id travels in the message's headers).</summary>
public static class WarmupTracing
{
    /// <summary>The warm-up's root spans (under <see cref="TelemetryExtensions.SourcePrefix"/>, so they are sampled
    /// like the services' own).</summary>
    public static readonly ActivitySource Source = new(TelemetryExtensions.SourcePrefix + "Warmup");

    // One trace per pass that began one while someone listened: a few hundred ids over a warm-up, kept for the process's
    // life so that a span ending late (a consume after its pass) is still known.
    private static readonly ConcurrentDictionary<ActivityTraceId, byte> Traces = new();

    /// <summary>Starts a new trace (not a child of the current span) for a warm-up pass named <paramref name="name"/>;
    /// disposing the scope ends it and brings back the span that was current. Without a listener, no span is made.</summary>
    public static Scope Begin(string name)
    {
        var previous = Activity.Current;
        Activity.Current = null;
        var root = Source.StartActivity("warmup " + name, ActivityKind.Internal);
        if (root is not null)
        {
            Traces.TryAdd(root.TraceId, 0);
        }

        return new Scope(root, previous);
    }

    /// <summary>True for a span of a warm-up pass's trace.</summary>
    public static bool IsWarmup(Activity activity) => Traces.ContainsKey(activity.TraceId);

    /// <summary>A warm-up pass's trace; see <see cref="Begin"/>.</summary>
    public sealed class Scope(Activity? root, Activity? previous) : IDisposable
    {
        /// <summary>The pass's root span; null when no one listens.</summary>
        public Activity? Root => root;

        public void Dispose()
        {
            root?.Dispose();
            Activity.Current = previous;
        }
    }
}

/// <summary>Keeps the warm-up's spans (<see cref="WarmupTracing"/>) from every exporter: added before them, it clears a
/// warm-up span's Recorded flag when it ends, and the export processors skip spans that are not recorded (the
/// OpenTelemetry SDK's filtering pattern).</summary>
public sealed class WarmupSpanFilter : BaseProcessor<Activity>
{
    public override void OnEnd(Activity data)
    {
        if (WarmupTracing.IsWarmup(data))
        {
            data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        }
    }
}
