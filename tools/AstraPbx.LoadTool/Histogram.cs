namespace AstraPbx.LoadTool;

/// <summary>A fixed-resolution latency histogram (0.05 ms bins up to 2 s, the rest in the last bin), lock-free to
/// record from every caller's receive loop.</summary>
internal sealed class Histogram
{
    private const double BinMs = 0.05;
    private readonly long[] _bins = new long[40_001];
    private long _count;
    private double _max = double.MinValue;
    private double _min = double.MaxValue;
    private readonly Lock _extremes = new();

    public long Count => Interlocked.Read(ref _count);

    public double Max => _count == 0 ? double.NaN : _max;

    public double Min => _count == 0 ? double.NaN : _min;

    public void Record(double ms)
    {
        var bin = (int)Math.Clamp(ms / BinMs, 0, _bins.Length - 1);
        Interlocked.Increment(ref _bins[bin]);
        Interlocked.Increment(ref _count);
        if (ms > Volatile.Read(ref _max) || ms < Volatile.Read(ref _min))
        {
            lock (_extremes)
            {
                _max = Math.Max(_max, ms);
                _min = Math.Min(_min, ms);
            }
        }
    }

    /// <summary>The value below which <paramref name="percentile"/> % of the samples fall (bin centre).</summary>
    public double Percentile(double percentile)
    {
        var count = Count;
        if (count == 0)
        {
            return double.NaN;
        }

        var rank = (long)Math.Ceiling(percentile / 100 * count);
        long seen = 0;
        for (var i = 0; i < _bins.Length; i++)
        {
            seen += Interlocked.Read(ref _bins[i]);
            if (seen >= rank)
            {
                return (i + 0.5) * BinMs;
            }
        }

        return _max;
    }

    /// <summary>Share of samples within [<paramref name="low"/>, <paramref name="high"/>] ms.</summary>
    public double FractionWithin(double low, double high)
    {
        var count = Count;
        if (count == 0)
        {
            return double.NaN;
        }

        long inside = 0;
        for (var i = 0; i < _bins.Length; i++)
        {
            var centre = (i + 0.5) * BinMs;
            if (centre >= low && centre <= high)
            {
                inside += Interlocked.Read(ref _bins[i]);
            }
        }

        return (double)inside / count;
    }
}
