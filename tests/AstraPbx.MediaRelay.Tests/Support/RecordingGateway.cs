using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AstraPbx.MediaRelay.Tests.Support;

/// <summary>A bare bot for byte-level assertions: accepts the relay's WebSocket on 127.0.0.1, takes the two handshake
/// frames as they come (the handshake has its own tests), then keeps every binary message whole and in order, so a
/// test can compare what reached the bot with what the caller sent, byte for byte. <see cref="Simulators.Gateway.FakeGateway"/>
/// counts caller audio but does not keep it.</summary>
internal sealed class RecordingGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<RecordingBot> _arrivals = Channel.CreateUnbounded<RecordingBot>();

    private RecordingGateway(WebApplication app) => _app = app;

    /// <summary><c>ws://127.0.0.1:port/ws/org-1/bot-1?key=...</c>.</summary>
    public string Url { get; private set; } = "";

    public static async Task<RecordingGateway> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var gateway = new RecordingGateway(app);
        app.UseWebSockets();
        app.Run(gateway.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        gateway.Url = $"ws://127.0.0.1:{new Uri(address).Port}/ws/org-1/bot-1?key=ak_test_secret";
        return gateway;
    }

    /// <summary>The next bot connection, once its two handshake frames are in.</summary>
    public async Task<RecordingBot> NextBot(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        return await _arrivals.Reader.ReadAsync(cts.Token);
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var bot = new RecordingBot(socket);
        await bot.RunAsync(_arrivals.Writer, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One relay connection to a <see cref="RecordingGateway"/>.</summary>
internal sealed class RecordingBot(WebSocket socket)
{
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The <c>start</c> frame as text.</summary>
    public string Start { get; private set; } = "";

    /// <summary>Every binary message from the relay, whole, in order.</summary>
    public ConcurrentQueue<byte[]> Binary { get; } = new();

    /// <summary>Every text message after the handshake, in order.</summary>
    public ConcurrentQueue<string> Text { get; } = new();

    /// <summary>The type of every message after the handshake, in arrival order.</summary>
    public ConcurrentQueue<WebSocketMessageType> Order { get; } = new();

    /// <summary>Completes when the relay closed or dropped the WebSocket.</summary>
    public Task Closed => _closed.Task;

    public Task SendBinaryAsync(ReadOnlyMemory<byte> pcm) => SendAsync(pcm, WebSocketMessageType.Binary);

    public Task SendTextAsync(string json) => SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text);

    internal async Task RunAsync(ChannelWriter<RecordingBot> arrivals, CancellationToken aborted)
    {
        var message = new ArrayBufferWriter<byte>(4096);
        try
        {
            for (var handshake = 0; handshake < 2; handshake++)
            {
                if (await ReceiveAsync(message, aborted) is not WebSocketMessageType.Text)
                {
                    return;
                }

                Start = Encoding.UTF8.GetString(message.WrittenSpan);
            }

            arrivals.TryWrite(this);
            while (await ReceiveAsync(message, aborted) is { } type)
            {
                Order.Enqueue(type);
                if (type == WebSocketMessageType.Binary)
                {
                    Binary.Enqueue(message.WrittenSpan.ToArray());
                }
                else
                {
                    Text.Enqueue(Encoding.UTF8.GetString(message.WrittenSpan));
                }
            }

            await _sendLock.WaitAsync(CancellationToken.None);
            try
            {
                if (socket.State == WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                }
            }
            finally
            {
                _sendLock.Release();
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            _closed.TrySetResult();
        }
    }

    /// <summary>One whole message into <paramref name="message"/>; null once the relay closed.</summary>
    private async Task<WebSocketMessageType?> ReceiveAsync(ArrayBufferWriter<byte> message, CancellationToken aborted)
    {
        message.ResetWrittenCount();
        while (true)
        {
            var result = await socket.ReceiveAsync(message.GetMemory(4096), aborted);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            message.Advance(result.Count);
            if (result.EndOfMessage)
            {
                return result.MessageType;
            }
        }
    }

    private async Task SendAsync(ReadOnlyMemory<byte> message, WebSocketMessageType type)
    {
        await _sendLock.WaitAsync();
        try
        {
            await socket.SendAsync(message, type, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
