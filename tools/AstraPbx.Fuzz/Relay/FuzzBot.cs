using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AstraPbx.Fuzz.Relay;

/// <summary>A gateway that plays a <see cref="BotScript"/> on each session: it reads the relay's handshake, looks up the
/// script by the call id of <c>start.callSid</c>, sends the script's messages as they are (invalid UTF-8 in text frames
/// included: a real bot's WebSocket library might), cut into fragments, then ends as the script says, reading
/// everything the relay sends meanwhile. A failure on the bot's side is not the relay's: it is swallowed.</summary>
public sealed class FuzzBot : IAsyncDisposable
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, BotScript> _scripts = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private long _messagesSent;

    /// <summary>The gateway URL the relay connects to.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>Messages the bot sent whole.</summary>
    public long MessagesSent => Interlocked.Read(ref _messagesSent);

    public static async Task<FuzzBot> StartAsync()
    {
        var bot = new FuzzBot();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(bot.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        bot._app = app;
        bot.Url = new Uri($"ws://127.0.0.1:{new Uri(address).Port}/ws/fuzz/bot?key=fuzz_secret");
        return bot;
    }

    /// <summary>The script for the session of call <paramref name="callId"/> (set before the relay is asked to prepare it).</summary>
    public void Expect(string callId, BotScript script) => _scripts[callId] = script;

    private async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var buffer = new byte[64 * 1024];
        try
        {
            string? callId = null;
            for (var i = 0; i < 2; i++)
            {
                var received = await socket.ReceiveAsync(buffer, _stopping.Token).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Text && received.EndOfMessage && i == 1)
                {
                    using var start = JsonDocument.Parse(buffer.AsMemory(0, received.Count));
                    callId = start.RootElement.GetProperty("start").GetProperty("callSid").GetString();
                }
            }

            if (callId is null || !_scripts.TryRemove(callId, out var script))
            {
                return;
            }

            var reading = DrainAsync(socket, buffer);
            await PlayAsync(socket, script).ConfigureAwait(false);
            await reading.WaitAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException
                                       or JsonException or KeyNotFoundException or InvalidOperationException or BadHttpRequestException)
        {
            // The relay ended the session (or the bot's own script broke its socket): the relay's side is what is checked.
        }
    }

    private async Task PlayAsync(WebSocket socket, BotScript script)
    {
        foreach (var message in script.Messages)
        {
            var type = message.Binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
            var parts = Math.Max(1, Math.Min(script.Fragments, message.Bytes.Length));
            var at = 0;
            for (var i = 0; i < parts; i++)
            {
                var length = i == parts - 1 ? message.Bytes.Length - at : message.Bytes.Length / parts;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                timeout.CancelAfter(SendTimeout);
                await socket.SendAsync(message.Bytes.AsMemory(at, length), type, i == parts - 1, timeout.Token).ConfigureAwait(false);
                at += length;
            }

            Interlocked.Increment(ref _messagesSent);
        }

        switch (script.End)
        {
            case BotEnd.CloseNormal:
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", _stopping.Token).ConfigureAwait(false);
                break;
            case BotEnd.CloseError:
                await socket.CloseOutputAsync(WebSocketCloseStatus.InternalServerError, "fuzz", _stopping.Token).ConfigureAwait(false);
                break;
            case BotEnd.Abort:
                socket.Abort();
                break;
        }
    }

    /// <summary>Reads (and drops) what the relay sends until it closes.</summary>
    private async Task DrainAsync(WebSocket socket, byte[] buffer)
    {
        var drain = new byte[buffer.Length];
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var received = await socket.ReceiveAsync(drain, _stopping.Token).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or ObjectDisposedException
                                       or BadHttpRequestException)
        {
            // The connection ended: nothing left to read.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _app.StopAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            await _app.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }
}
