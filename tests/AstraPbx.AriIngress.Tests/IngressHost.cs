using System.Collections.Concurrent;
using System.Diagnostics;
using AstraPbx.AriIngress.Ari;
using AstraPbx.AriIngress.Calls;
using AstraPbx.ServiceDefaults;
using AstraPbx.Simulators.Ari;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace AstraPbx.AriIngress.Tests;

/// <summary>The AriIngress service hosted in the test process exactly as Program.cs builds it, with its logs and spans
/// captured so tests can look for the call id and for leaked secrets.</summary>
internal sealed class IngressHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private IngressHost(WebApplication app, LogCapture logs, SpanCapture spans)
    {
        _app = app;
        Logs = logs;
        Spans = spans;
    }

    public LogCapture Logs { get; }

    /// <summary>Spans of every ingress in this test process (the listener is process-wide): filter by call id.</summary>
    public SpanCapture Spans { get; }

    public IServiceProvider Services => _app.Services;

    public AriConnection Connection => _app.Services.GetRequiredService<AriConnection>();

    public CallTable Calls => _app.Services.GetRequiredService<CallTable>();

    /// <summary>The settings of an ingress against <paramref name="asterisk"/>. The edge fallback waits 10 minutes here:
    /// tests of other behaviour send their commands when they like, on a loaded machine; edge tests set their own.</summary>
    public static Dictionary<string, string?> Settings(string rabbitmq, AsteriskSimulator asterisk, string? password = null) => new()
    {
        ["Ari:EdgeFallbackAfter"] = "00:10:00",
        ["ConnectionStrings:rabbitmq"] = rabbitmq,
        ["Ari:BaseUrl"] = asterisk.BaseUrl,
        ["Ari:Username"] = asterisk.Options.Username,
        ["Ari:Password"] = password ?? asterisk.Options.Password,
        ["Ari:ReconnectInitialDelay"] = "00:00:00.200",
        ["Ari:ReconnectMaxDelay"] = "00:00:01",
    };

    public static async Task<IngressHost> StartAsync(Dictionary<string, string?> settings, bool waitForCommands = true, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ApplicationName = "AstraPbx.AriIngress" });
        settings["Urls"] = "http://127.0.0.1:0";
        // The first warm-up pass only: the rounds would run beside the test (ServiceWarmupTests runs them).
        settings.TryAdd("Warmup:SettleRounds", "0");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddServiceDefaults();
        services?.Invoke(builder.Services);
        builder.AddApplicationServices();
        var logs = new LogCapture();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("MassTransit", LogLevel.Information);
        builder.Logging.AddProvider(logs);
        var spans = new SpanCapture();
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans));

        var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        var host = new IngressHost(app, logs, spans);
        if (waitForCommands)
        {
            await host.Connection.CommandQueueReady.WaitAsync(TimeSpan.FromSeconds(60));
        }

        return host;
    }

    /// <summary>The <c>ari</c> health check alone (NOT_SERVING when Unhealthy).</summary>
    public async Task<HealthStatus> AriHealthAsync()
    {
        var report = await _app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Name == "ari");
        return report.Status;
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}

internal sealed record CapturedLog(string Category, LogLevel Level, EventId EventId, string Message, string? Exception, string State);

/// <summary>Every log line, with its message, exception text and structured state.</summary>
internal sealed class LogCapture : ILoggerProvider
{
    public ConcurrentQueue<CapturedLog> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public IEnumerable<CapturedLog> WithEventId(int id) => Entries.Where(e => e.EventId.Id == id && e.Category.StartsWith("AstraPbx", StringComparison.Ordinal));

    public string AllText => string.Join('\n', Entries.Select(e => $"{e.Category} {e.Message} {e.Exception} {e.State}"));

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var structured = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(';', pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            capture.Entries.Enqueue(new CapturedLog(category, logLevel, eventId, formatter(state, exception), exception?.ToString(), structured));
        }
    }
}

/// <summary>A thread-safe sink for the in-memory span exporter.</summary>
internal sealed class SpanCapture : ICollection<Activity>
{
    private readonly List<Activity> _spans = [];

    public Activity[] Snapshot()
    {
        lock (_spans)
        {
            return [.. _spans];
        }
    }

    /// <summary>Every name, tag and status text of every span, for secret checks.</summary>
    public string AllText => string.Join('\n', Snapshot().Select(a =>
        $"{a.DisplayName} {a.OperationName} {a.StatusDescription} " + string.Join(' ', a.TagObjects.Select(t => $"{t.Key}={t.Value}"))
        + string.Join(' ', a.Events.Select(e => e.Name + string.Join(' ', e.Tags.Select(t => $"{t.Key}={t.Value}"))))));

    public int Count
    {
        get
        {
            lock (_spans)
            {
                return _spans.Count;
            }
        }
    }

    public bool IsReadOnly => false;

    public void Add(Activity item)
    {
        lock (_spans)
        {
            _spans.Add(item);
        }
    }

    public void Clear()
    {
        lock (_spans)
        {
            _spans.Clear();
        }
    }

    public bool Contains(Activity item)
    {
        lock (_spans)
        {
            return _spans.Contains(item);
        }
    }

    public void CopyTo(Activity[] array, int arrayIndex)
    {
        lock (_spans)
        {
            _spans.CopyTo(array, arrayIndex);
        }
    }

    public bool Remove(Activity item)
    {
        lock (_spans)
        {
            return _spans.Remove(item);
        }
    }

    public IEnumerator<Activity> GetEnumerator() => ((IEnumerable<Activity>)Snapshot()).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
