namespace AstraPbx.MediaRelay.Media;

/// <summary>Marks by stream position: a mark is due once the audio queued before it has been played (or dropped).
/// Bounded (<paramref name="capacity"/>): marks wait from the first bot message on, before the claim too, and a bot
/// could otherwise grow the queue without end. Not thread-safe: <see cref="JitterBuffer"/> holds the lock.</summary>
/// <param name="capacity">Marks not yet due, at most.</param>
internal sealed class MarkQueue(int capacity)
{
    private readonly Queue<(long Position, string Name)> _marks = new();

    /// <summary>Marks not yet due.</summary>
    public int Count => _marks.Count;

    /// <summary>Queues a mark at stream position <paramref name="position"/>; false (and nothing queued) when
    /// <paramref name="capacity"/> marks already wait.</summary>
    public bool TryAdd(long position, string name)
    {
        if (_marks.Count >= capacity)
        {
            return false;
        }

        _marks.Enqueue((position, name));
        return true;
    }

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
