using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace AstraPbx.Fuzz.Relay;

/// <summary>The real relay's log, read for what the fuzz needs: how each session ended (event 3005), why connections
/// were refused (3004), and every error (an unhandled exception in Kestrel's connection handling, a failed playout tick):
/// under bad input an error log is a crash.</summary>
public sealed class RelayLogCapture : ILoggerProvider
{
    private const int SessionEnded = 3005;
    private const int AdmissionRefused = 3004;
    private const int SessionClaimed = 3003;

    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<string>> _ended = new();
    private readonly ConcurrentDictionary<Guid, bool> _claimed = new();

    public ConcurrentDictionary<string, long> Refusals { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>The reason session <paramref name="sessionId"/> ended with, once it has.</summary>
    public Task<string> Ended(Guid sessionId) => Slot(sessionId).Task;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private TaskCompletionSource<string> Slot(Guid id) =>
        _ended.GetOrAdd(id, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>True once an AudioSocket connection claimed session <paramref name="sessionId"/>.</summary>
    public bool Claimed(Guid sessionId) => _claimed.ContainsKey(sessionId);

    /// <summary>Forgets a session whose end was read.</summary>
    public void Forget(Guid sessionId)
    {
        _ended.TryRemove(sessionId, out _);
        _claimed.TryRemove(sessionId, out _);
    }

    private sealed class Logger(RelayLogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information && !category.StartsWith("MassTransit", StringComparison.Ordinal);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            if (logLevel >= LogLevel.Error)
            {
                capture.Errors.Enqueue($"{category} [{eventId.Id}] {formatter(state, exception)} {exception}");
            }

            if (eventId.Id is not (SessionEnded or AdmissionRefused or SessionClaimed) || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                return;
            }

            string? reason = null;
            Guid? session = null;
            foreach (var (key, value) in values)
            {
                if (key == "Reason")
                {
                    reason = value?.ToString();
                }
                else if (key == "SessionId" && value is Guid id)
                {
                    session = id;
                }
            }

            if (eventId.Id == SessionClaimed && session is { } claimed)
            {
                capture._claimed[claimed] = true;
            }
            else if (eventId.Id == AdmissionRefused)
            {
                capture.Refusals.AddOrUpdate(reason ?? "?", 1, (_, n) => n + 1);
            }
            else if (eventId.Id == SessionEnded && session is { } ended)
            {
                capture.Slot(ended).TrySetResult(reason ?? "?");
            }
        }
    }
}
