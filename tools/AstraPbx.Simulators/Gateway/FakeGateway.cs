using System.Threading.Channels;
using AstraPbx.Simulators.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AstraPbx.Simulators.Gateway;

/// <summary>A stand-in for the AI gateway (Pipecat): a Kestrel WebSocket server on 127.0.0.1 (random port) that
/// validates the relay's handshake (PROTOCOLS.md section 2), then echoes, stays silent, plays audio or acts as a stock
/// Pipecat bot (<see cref="GatewayBehavior.PipecatLike"/>), and lets a test drive each session (send audio,
/// <c>clear</c>, <c>mark</c>, <c>stop</c>, close, drop; for the Pipecat-like bot: speak paced, interrupt, end). It can also refuse or
/// stall the WebSocket upgrade. Any path is accepted; <see cref="Url"/> is the conventional one.</summary>
public sealed class FakeGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly FakeGatewayOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<GatewaySession> _arrivals = Channel.CreateUnbounded<GatewaySession>();
    private readonly List<GatewaySession> _sessions = [];
    private readonly Lock _sessionsLock = new();
    private int _connectionAttempts;

    private FakeGateway(WebApplication app, FakeGatewayOptions options)
    {
        _app = app;
        _options = options;
    }

    /// <summary>The gateway's base address, <c>ws://127.0.0.1:port</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>A typical gateway URL: <c>ws://127.0.0.1:port/ws/org-1/bot-1?key=ak_test_secret</c> (the query is
    /// the secret the relay must never log).</summary>
    public Uri Url => UrlFor("/ws/org-1/bot-1?key=" + Secret);

    /// <summary>The secret in <see cref="Url"/>'s query string, for tests that prove it never leaks.</summary>
    public const string Secret = "ak_test_secret";

    /// <summary>This gateway's address with <paramref name="pathAndQuery"/> (e.g. <c>/ws/org-2/bot-9?key=x</c>).</summary>
    public Uri UrlFor(string pathAndQuery) => new(BaseUrl, pathAndQuery);

    /// <summary>Every session whose handshake has been read (valid or not), in order of arrival.</summary>
    public IReadOnlyList<GatewaySession> Sessions
    {
        get
        {
            lock (_sessionsLock)
            {
                return [.. _sessions];
            }
        }
    }

    /// <summary>HTTP requests received on the WebSocket path, including refused and stalled ones.</summary>
    public int ConnectionAttempts => Volatile.Read(ref _connectionAttempts);

    /// <summary>Starts a gateway on 127.0.0.1 with a random free port.</summary>
    public static async Task<FakeGateway> StartAsync(FakeGatewayOptions? options = null)
    {
        options ??= new FakeGatewayOptions();
        FakeGateway? gateway = null;
        var (_, port) = await LoopbackServer.StartAsync(0, TimeSpan.Zero, app =>
        {
            gateway = new FakeGateway(app, options);
            app.Run(gateway.HandleAsync);
        }, inlineTransport: options.InlineTransport).ConfigureAwait(false);
        gateway!.BaseUrl = new Uri("ws://127.0.0.1:" + port);
        return gateway;
    }

    /// <summary>The next session (in order of arrival) not yet returned by this method, once its handshake is read.</summary>
    /// <exception cref="TimeoutException">No session arrived within <paramref name="timeout"/>.</exception>
    public async Task<GatewaySession> NextSession(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _arrivals.Reader.ReadAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No gateway session arrived within {timeout.TotalSeconds:0.#} s.");
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _connectionAttempts);
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        if (_options.RejectWithStatus is { } status)
        {
            context.Response.StatusCode = status;
            return;
        }

        if (_options.StallHandshake)
        {
            // Hold the request open, never answering the upgrade, until the gateway is disposed.
            try
            {
                await Task.Delay(Timeout.Infinite, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            context.Abort();
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var session = new GatewaySession(socket, context, context.Request.Path.Value ?? "", _options);
        await session.RunAsync(OnHandshakeRead, _stopping.Token).ConfigureAwait(false);
    }

    private void OnHandshakeRead(GatewaySession session)
    {
        lock (_sessionsLock)
        {
            _sessions.Add(session);
        }

        _arrivals.Writer.TryWrite(session);
    }

    /// <summary>Drops every session and stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var session in Sessions)
        {
            session.Abort();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }
}
