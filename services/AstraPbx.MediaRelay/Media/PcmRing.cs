namespace AstraPbx.MediaRelay.Media;

/// <summary>The jitter buffer's bytes: a ring that starts small and grows up to a cap, dropping the oldest bytes once
/// full. It also counts stream positions (<see cref="Written"/>, <see cref="Played"/>), which marks are placed by.
/// Not thread-safe: <see cref="JitterBuffer"/> holds the lock.</summary>
internal sealed class PcmRing
{
    private readonly int _capBytes;
    private byte[] _ring;
    private int _head;

    public PcmRing(int initialBytes, int capBytes)
    {
        _capBytes = capBytes;
        _ring = new byte[Math.Min(capBytes, initialBytes)];
    }

    /// <summary>Bytes buffered.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes ever written: the position of the end of the stream.</summary>
    public long Written { get; private set; }

    /// <summary>Bytes ever played, dropped or cleared: the position of the start of what is buffered.</summary>
    public long Played { get; private set; }

    /// <summary>Bytes dropped because the cap was reached (oldest first).</summary>
    public long OverflowBytes { get; private set; }

    /// <summary>Appends <paramref name="pcm"/>; over the cap, the oldest bytes go. Returns how many bytes were appended
    /// (all of them, unless the write alone is over the cap).</summary>
    public int Write(ReadOnlySpan<byte> pcm)
    {
        if (pcm.Length > _capBytes)
        {
            OverflowBytes += pcm.Length - _capBytes;
            Written += pcm.Length - _capBytes;
            Played += pcm.Length - _capBytes;
            pcm = pcm[^_capBytes..];
        }

        if (Count + pcm.Length > _ring.Length && _ring.Length < _capBytes)
        {
            Grow(Math.Min(_capBytes, Math.Max(_ring.Length * 2, Count + pcm.Length)));
        }

        var overflow = Count + pcm.Length - _ring.Length;
        if (overflow > 0)
        {
            Drop(overflow);
            OverflowBytes += overflow;
        }

        var tail = (_head + Count) % _ring.Length;
        var first = Math.Min(pcm.Length, _ring.Length - tail);
        pcm[..first].CopyTo(_ring.AsSpan(tail));
        pcm[first..].CopyTo(_ring);
        Count += pcm.Length;
        Written += pcm.Length;
        return pcm.Length;
    }

    /// <summary>Moves the oldest bytes into <paramref name="destination"/> (all of it: no more than <see cref="Count"/>).</summary>
    public void Take(Span<byte> destination)
    {
        var first = Math.Min(destination.Length, _ring.Length - _head);
        _ring.AsSpan(_head, first).CopyTo(destination);
        _ring.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
        Drop(destination.Length);
    }

    /// <summary>Drops the oldest <paramref name="bytes"/> (no more than <see cref="Count"/>).</summary>
    public void Drop(int bytes)
    {
        _head = (_head + bytes) % _ring.Length;
        Count -= bytes;
        Played += bytes;
    }

    /// <summary>Drops everything buffered.</summary>
    public void Clear()
    {
        Played = Written;
        _head = 0;
        Count = 0;
    }

    private void Grow(int size)
    {
        var bigger = new byte[size];
        var first = Math.Min(Count, _ring.Length - _head);
        _ring.AsSpan(_head, first).CopyTo(bigger);
        _ring.AsSpan(0, Count - first).CopyTo(bigger.AsSpan(first));
        _ring = bigger;
        _head = 0;
    }
}
