namespace AstraPbx.Testing;

/// <summary>Waits for a condition that something else makes true, checking it until a deadline. For conditions
/// that have no event to await (a health status, a row in a table). Fails with the description on timeout.</summary>
public static class Eventually
{
    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string description, TimeSpan? poll = null)
    {
        var interval = poll ?? TimeSpan.FromMilliseconds(100);
        var deadline = DateTime.UtcNow + timeout;
        var last = await probe();
        while (!done(last))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {description}; last value: {last}");
            }

            await Task.Delay(interval);
            last = await probe();
        }

        return last;
    }

    /// <summary>Awaits a task with a timeout that names what was awaited.</summary>
    public static async Task<T> Within<T>(this Task<T> task, TimeSpan timeout, string description)
    {
        var finished = await Task.WhenAny(task, Task.Delay(timeout));
        if (finished != task)
        {
            throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {description}");
        }

        return await task;
    }

    public static async Task Within(this Task task, TimeSpan timeout, string description)
    {
        var finished = await Task.WhenAny(task, Task.Delay(timeout));
        if (finished != task)
        {
            throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {description}");
        }

        await task;
    }
}
