using System.Buffers;

namespace AstraPbx.MediaRelay.Media;

/// <summary>The jitter buffer's bytes: a ring that starts small and grows up to a cap, dropping the oldest bytes once
/// full. It also counts stream positions (<see cref="Written"/>, <see cref="Played"/>), which marks are placed by.
/// Not thread-safe: <see cref="JitterBuffer"/> holds the lock.
/// <para>Memory: the ring owns only its small starting array, sized for the steady state (the playout target plus a
/// few of the bot's chunks). A burst (a bot sending a greeting faster than real time) grows it into arrays rented from
/// <see cref="ArrayPool{T}.Shared"/>; once the burst has played out and the ring is empty, the rented array goes back
/// and the ring shrinks to its own array again. So a live session holds a few KiB, not the largest burst it ever had,
/// and no frame allocates: growth and shrinking happen once per burst, never per frame.</para></summary>
internal sealed class PcmRing
{
    private readonly int _capBytes;
    private readonly byte[] _own;
    private byte[] _ring;
    // Usable bytes of _ring: a rented array may be longer than asked for, and the cap still holds.
    private int _capacity;
    private int _head;

    public PcmRing(int initialBytes, int capBytes)
    {
        _capBytes = capBytes;
        _own = new byte[Math.Min(capBytes, initialBytes)];
        _ring = _own;
        _capacity = _own.Length;
    }

    /// <summary>Bytes buffered.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes the ring holds before it must grow (or, at the cap, drop the oldest).</summary>
    public int Capacity => _capacity;

    /// <summary>True while the ring holds an array rented for a burst.</summary>
    public bool Grown => !ReferenceEquals(_ring, _own);

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

        if (Count + pcm.Length > _capacity && _capacity < _capBytes)
        {
            Grow(Math.Min(_capBytes, Math.Max(_capacity * 2, Count + pcm.Length)));
        }

        var overflow = Count + pcm.Length - _capacity;
        if (overflow > 0)
        {
            Advance(overflow);
            OverflowBytes += overflow;
        }

        var tail = (_head + Count) % _capacity;
        var first = Math.Min(pcm.Length, _capacity - tail);
        pcm[..first].CopyTo(_ring.AsSpan(tail));
        pcm[first..].CopyTo(_ring);
        Count += pcm.Length;
        Written += pcm.Length;
        return pcm.Length;
    }

    /// <summary>Moves the oldest bytes into <paramref name="destination"/> (all of it: no more than <see cref="Count"/>).</summary>
    public void Take(Span<byte> destination)
    {
        var first = Math.Min(destination.Length, _capacity - _head);
        _ring.AsSpan(_head, first).CopyTo(destination);
        _ring.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
        Drop(destination.Length);
    }

    /// <summary>Drops the oldest <paramref name="bytes"/> (no more than <see cref="Count"/>).</summary>
    public void Drop(int bytes)
    {
        Advance(bytes);
        ShrinkIfEmpty();
    }

    /// <summary>Drops everything buffered.</summary>
    public void Clear()
    {
        Played = Written;
        _head = 0;
        Count = 0;
        ShrinkIfEmpty();
    }

    private void Advance(int bytes)
    {
        _head = (_head + bytes) % _capacity;
        Count -= bytes;
        Played += bytes;
    }

    private void Grow(int size)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        var first = Math.Min(Count, _capacity - _head);
        _ring.AsSpan(_head, first).CopyTo(bigger);
        _ring.AsSpan(0, Count - first).CopyTo(bigger.AsSpan(first));
        ReturnRented();
        _ring = bigger;
        // The pool hands out powers of two: use all of it (a burst then grows less often), but never past the cap.
        _capacity = Math.Min(bigger.Length, _capBytes);
        _head = 0;
    }

    /// <summary>The burst has played out: the rented array goes back to the pool and the ring is its own small array.</summary>
    private void ShrinkIfEmpty()
    {
        if (Count == 0 && Grown)
        {
            ReturnRented();
            _ring = _own;
            _capacity = _own.Length;
            _head = 0;
        }
    }

    private void ReturnRented()
    {
        if (Grown)
        {
            ArrayPool<byte>.Shared.Return(_ring);
        }
    }
}
