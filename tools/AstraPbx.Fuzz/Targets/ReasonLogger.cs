using Microsoft.Extensions.Logging;

namespace AstraPbx.Fuzz.Targets;

/// <summary>A logger that keeps the <c>Reason</c> of the last warning it got (the admission refusal's reason), and counts
/// errors; everything else is dropped.</summary>
internal sealed class ReasonLogger<T> : ILogger<T>
{
    public string? LastReason { get; private set; }

    public int Errors { get; private set; }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel >= LogLevel.Error)
        {
            Errors++;
        }

        if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
        {
            foreach (var (key, value) in values)
            {
                if (key == "Reason")
                {
                    LastReason = value?.ToString();
                }
            }
        }
    }
}
