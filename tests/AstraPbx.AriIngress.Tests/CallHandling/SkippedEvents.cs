using System.Diagnostics.Metrics;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>Counts <c>astrapbx.ari_ingress.skipped_events</c> added by code this test calls directly: the meter is
/// process-wide and other tests skip events in parallel, so only measurements made in this test's flow count.</summary>
internal sealed class SkippedEvents : IDisposable
{
    private static readonly AsyncLocal<SkippedEvents?> Current = new();
    private readonly MeterListener _listener = new();
    private long _count;

    public SkippedEvents()
    {
        Current.Value = this;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument, AriIngressTelemetry.SkippedEvents))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            if (ReferenceEquals(Current.Value, this))
            {
                Interlocked.Add(ref _count, value);
            }
        });
        _listener.Start();
    }

    public long Count => Interlocked.Read(ref _count);

    public void Dispose() => _listener.Dispose();
}
