namespace AstraPbx.LoadTool;

/// <summary>The measurement window (Stopwatch timestamps): after every call is up and warmed, until sending stops.</summary>
internal sealed class LoadWindow
{
    private long _start = long.MaxValue;
    private long _end = long.MaxValue;

    /// <summary>When the window opened (<see cref="long.MaxValue"/> before).</summary>
    public long Start => Volatile.Read(ref _start);

    public void Open(long start) => Volatile.Write(ref _start, start);

    public void Close(long end) => Volatile.Write(ref _end, end);

    public bool Contains(long timestamp) => timestamp >= Volatile.Read(ref _start) && timestamp < Volatile.Read(ref _end);
}
