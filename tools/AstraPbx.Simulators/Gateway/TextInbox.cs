namespace AstraPbx.Simulators.Gateway;

/// <summary>The text frames a gateway session received, each handed out once to the first wait that matches it.</summary>
internal sealed class TextInbox
{
    private readonly List<string> _texts = [];
    private readonly HashSet<int> _taken = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Add(string text)
    {
        lock (_lock)
        {
            _texts.Add(text);
            var arrived = _arrived;
            _arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            arrived.TrySetResult();
        }
    }

    /// <summary>The first text matching <paramref name="match"/> that no earlier call returned, received before or
    /// after this call.</summary>
    /// <exception cref="TimeoutException">None arrived within <paramref name="timeout"/>.</exception>
    public async Task<string> NextAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task arrived;
            lock (_lock)
            {
                arrived = _arrived.Task;
                for (var i = 0; i < _texts.Count; i++)
                {
                    if (!_taken.Contains(i) && match(_texts[i]))
                    {
                        _taken.Add(i);
                        return _texts[i];
                    }
                }
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(arrived, Task.Delay(left)).ConfigureAwait(false) != arrived)
            {
                throw new TimeoutException($"No matching text frame from the relay within {timeout.TotalSeconds:0.#} s.");
            }
        }
    }
}
