namespace AstraPbx.MediaRelay.Media;

/// <summary>Marks by stream position: a mark is due once the audio queued before it has been played (or dropped).
/// Not thread-safe: <see cref="JitterBuffer"/> holds the lock.</summary>
internal sealed class MarkQueue
{
    private readonly Queue<(long Position, string Name)> _marks = new();

    /// <summary>Marks not yet due.</summary>
    public int Count => _marks.Count;

    /// <summary>Queues a mark at stream position <paramref name="position"/>.</summary>
    public void Add(long position, string name) => _marks.Enqueue((position, name));

    /// <summary>The next mark at or before stream position <paramref name="played"/>, if any.</summary>
    public bool TryTakeDue(long played, out string name)
    {
        if (_marks.Count > 0 && _marks.Peek().Position <= played)
        {
            name = _marks.Dequeue().Name;
            return true;
        }

        name = "";
        return false;
    }
}
