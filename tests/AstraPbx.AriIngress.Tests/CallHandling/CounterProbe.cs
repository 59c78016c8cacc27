using System.Diagnostics.Metrics;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>Sums one of the ingress's counters (e.g. <c>astrapbx.ari_ingress.skipped_events</c>) as added by code this
/// test calls directly: the meter is process-wide and other tests add to it in parallel, so only measurements made in
/// this test's flow count. Tags are kept per measurement for assertions.</summary>
internal sealed class CounterProbe : IDisposable
{
    private readonly AsyncLocal<bool> _inThisFlow = new();
    private readonly MeterListener _listener = new();
    private readonly List<string> _tags = [];
    private long _count;

    public CounterProbe(Counter<long> counter)
    {
        _inThisFlow.Value = true;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument, counter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (_inThisFlow.Value)
            {
                Interlocked.Add(ref _count, value);
                lock (_tags)
                {
                    foreach (var tag in tags)
                    {
                        _tags.Add($"{tag.Key}={tag.Value}");
                    }
                }
            }
        });
        _listener.Start();
    }

    public long Count => Interlocked.Read(ref _count);

    /// <summary>Every tag of every measurement, as <c>key=value</c>.</summary>
    public string[] Tags
    {
        get
        {
            lock (_tags)
            {
                return [.. _tags];
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
