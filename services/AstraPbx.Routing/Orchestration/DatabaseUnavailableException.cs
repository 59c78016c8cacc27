namespace AstraPbx.Routing.Orchestration;

/// <summary>A decision step could not reach the database (after its one quick retry); the call goes to the fallback
/// without it.</summary>
public sealed class DatabaseUnavailableException(string step, Exception inner)
    : Exception($"The database did not answer the '{step}' step: {inner.GetType().Name}", inner)
{
    /// <summary>The step that failed: <c>claim</c>, <c>resolve</c> or <c>decision</c>.</summary>
    public string Step { get; } = step;
}
