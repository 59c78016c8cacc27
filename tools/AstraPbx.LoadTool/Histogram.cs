using HdrHistogram;

namespace AstraPbx.LoadTool;

/// <summary>A latency histogram in milliseconds over HdrHistogram: microsecond units, 3 significant digits (at most
/// 0.1% off, finer than the 0.01 ms the report prints), up to 60 s (longer samples count as 60 s). Wait-free and
/// allocation-free to record from every caller's receive loop. The extremes are kept exact beside it.</summary>
internal sealed class Histogram
{
    private const double UnitsPerMs = 1000;
    private const long HighestUnits = 60_000_000;

    private readonly LongConcurrentHistogram _histogram = new(1, HighestUnits, 3);
    private double _max = double.MinValue;
    private double _min = double.MaxValue;
    private readonly Lock _extremes = new();

    public long Count => _histogram.TotalCount;

    public double Max => Count == 0 ? double.NaN : _max;

    public double Min => Count == 0 ? double.NaN : _min;

    public void Record(double ms)
    {
        _histogram.RecordValue(Math.Clamp((long)Math.Round(ms * UnitsPerMs), 0, HighestUnits));
        if (ms > Volatile.Read(ref _max) || ms < Volatile.Read(ref _min))
        {
            lock (_extremes)
            {
                _max = Math.Max(_max, ms);
                _min = Math.Min(_min, ms);
            }
        }
    }

    /// <summary>The value below which <paramref name="percentile"/> % of the samples fall (the middle of its bucket).</summary>
    public double Percentile(double percentile) =>
        Count == 0 ? double.NaN : _histogram.MedianEquivalentValue(_histogram.GetValueAtPercentile(percentile)) / UnitsPerMs;

    /// <summary>Share of samples within [<paramref name="low"/>, <paramref name="high"/>] ms.</summary>
    public double FractionWithin(double low, double high)
    {
        var count = Count;
        if (count == 0)
        {
            return double.NaN;
        }

        long inside = 0;
        foreach (var bucket in _histogram.RecordedValues())
        {
            var ms = _histogram.MedianEquivalentValue(bucket.ValueIteratedTo) / UnitsPerMs;
            if (ms >= low && ms <= high)
            {
                inside += bucket.CountAtValueIteratedTo;
            }
        }

        return (double)inside / count;
    }
}
