namespace AstraPbx.Routing.Tests;

/// <summary>Collects messages and lets a test await the first one that matches, without polling.</summary>
public sealed class Recorder
{
    private readonly List<object> _items = [];
    private readonly List<(Func<object, bool> Match, TaskCompletionSource<object> Done)> _waiters = [];

    public void Add(object item)
    {
        lock (_items)
        {
            _items.Add(item);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(item))
                {
                    _waiters[i].Done.TrySetResult(item);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    public async Task<T> WaitAsync<T>(Func<T, bool>? match = null) where T : class
    {
        bool Matches(object o) => o is T t && (match is null || match(t));
        TaskCompletionSource<object> done;
        lock (_items)
        {
            foreach (var item in _items)
            {
                if (Matches(item))
                {
                    return (T)item;
                }
            }

            done = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((Matches, done));
        }

        return (T)await done.Task;
    }

    /// <summary>Waits until <paramref name="count"/> matching items were recorded.</summary>
    public async Task WaitCountAsync<T>(Func<T, bool> match, int count) where T : class
    {
        TaskCompletionSource<object> done;
        lock (_items)
        {
            if (_items.OfType<T>().Count(match) >= count)
            {
                return;
            }

            done = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((o => o is T t && match(t) && _items.OfType<T>().Count(match) >= count, done));
        }

        await done.Task;
    }

    public IReadOnlyList<T> All<T>(Func<T, bool>? match = null)
    {
        lock (_items)
        {
            return _items.OfType<T>().Where(t => match is null || match(t)).ToList();
        }
    }
}
