using System.Diagnostics.Metrics;
using AstraPbx.Routing.CallRecords;
using AstraPbx.Routing.Resolution;

namespace AstraPbx.Routing.Orchestration;

/// <summary>Routing's metrics (meter <c>AstraPbx.Routing</c>).</summary>
public sealed class RoutingMetrics : IDisposable
{
    public const string MeterName = "AstraPbx.Routing";

    private readonly Meter _meter = new(MeterName);
    private readonly Histogram<double> _decision;
    private readonly Histogram<double> _stages;

    public RoutingMetrics()
    {
        _decision = _meter.CreateHistogram<double>("astrapbx.routing.decision.duration", "ms",
            "From CallEnteredStasis consumed to the command sent, relay time excluded");
        _stages = _meter.CreateHistogram<double>("astrapbx.routing.stage.duration", "ms", "Where a routing decision spends its time");
    }

    /// <summary>Time from consume to the end of a stage (<c>claim</c>, <c>resolve</c>), or the stage's own time (<c>send</c>).</summary>
    public void Stage(string stage, TimeSpan duration) =>
        _stages.Record(duration.TotalMilliseconds, new KeyValuePair<string, object?>("stage", stage));

    public void Decided(RouteDecision decision, TimeSpan duration) =>
        _decision.Record(duration.TotalMilliseconds,
            new KeyValuePair<string, object?>("outcome", CallRecordStore.OutcomeName(decision.Outcome)),
            new KeyValuePair<string, object?>("reason", decision.Reason));

    public void Dispose() => _meter.Dispose();
}
