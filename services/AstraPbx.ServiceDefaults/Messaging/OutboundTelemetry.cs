using System.Diagnostics.Metrics;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>The outbound queue's metrics (meter <c>AstraPbx.Outbound</c>, one per service container).</summary>
internal sealed class OutboundTelemetry
{
    public const string MeterName = Telemetry.TelemetryExtensions.SourcePrefix + "Outbound";

    public OutboundTelemetry(IMeterFactory meters, Func<int> pending)
    {
        var meter = meters.Create(MeterName);
        Dropped = meter.CreateCounter<long>("astrapbx.outbound.dropped", "{message}",
            "Messages refused by the outbound queue (tags: message_type; reason: full or stopped or rejected).");
        Retries = meter.CreateCounter<long>("astrapbx.outbound.retries", "{attempt}",
            "Publish attempts that failed or timed out and were tried again (tag: message_type).");
        meter.CreateObservableGauge("astrapbx.outbound.pending", pending, "{message}",
            "Messages queued and not yet taken by the broker.");
    }

    public Counter<long> Dropped { get; }

    public Counter<long> Retries { get; }
}
