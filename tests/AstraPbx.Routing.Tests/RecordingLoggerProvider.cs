using Microsoft.Extensions.Logging;

namespace AstraPbx.Routing.Tests;

/// <summary>One log line a Routing instance wrote.</summary>
public sealed record LogLine(string Category, int EventId, LogLevel Level, string Message);

/// <summary>Hands every log line to the <see cref="Recorder"/>, so a test can await a specific fault's log event.</summary>
public sealed class RecordingLoggerProvider(Recorder recorder) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, recorder);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, Recorder recorder) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            recorder.Add(new LogLine(category, eventId.Id, logLevel, formatter(state, exception)));
    }
}
