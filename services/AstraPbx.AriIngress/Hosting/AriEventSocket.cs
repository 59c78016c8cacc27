using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using AstraPbx.AriIngress.Ari;
using Microsoft.Extensions.Options;

namespace AstraPbx.AriIngress.Hosting;

/// <summary>Keeps the ARI events WebSocket open for ever: learns the Asterisk id if it is not configured, connects
/// with basic auth in a header (the URL carries only the application name), tells the <see cref="IAriEventHandler"/>
/// after every connect (it resyncs), decodes each message and hands the event to it, and on any failure reconnects
/// with capped exponential backoff and jitter, logging exactly one error per failed attempt.</summary>
internal sealed class AriEventSocket(
    IOptions<AriOptions> options,
    AriClient ari,
    AriConnection connection,
    IAriEventHandler handler,
    TimeProvider time,
    ILogger<AriEventSocket> logger) : BackgroundService
{
    private readonly record struct SessionEnd(bool WasConnected, bool ReconnectAtOnce, string Reason);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!string.IsNullOrWhiteSpace(settings.AsteriskId))
        {
            connection.SetAsteriskId(settings.AsteriskId.Trim());
        }

        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            SessionEnd end;
            try
            {
                end = await RunSessionAsync(settings, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            finally
            {
                connection.SetDisconnected();
            }

            failures = end.WasConnected ? 1 : failures + 1;
            var delay = end.ReconnectAtOnce
                ? TimeSpan.Zero
                : Backoff.Delay(failures, settings.ReconnectInitialDelay, settings.ReconnectMaxDelay, Random.Shared.NextDouble());
            if (end.WasConnected)
            {
                logger.EventsDisconnected(end.Reason, delay.TotalMilliseconds);
            }
            else
            {
                logger.ConnectFailed(failures, end.Reason, delay.TotalMilliseconds);
            }

            try
            {
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task<SessionEnd> RunSessionAsync(AriOptions settings, CancellationToken stoppingToken)
    {
        if (connection.AsteriskId is null)
        {
            var info = await ari.GetAsteriskInfoAsync(stoppingToken).ConfigureAwait(false);
            if (info.Value?.System?.EntityId is not { Length: > 0 } learnt)
            {
                return new SessionEnd(false, false, "GET /ari/asterisk/info: " + Describe(info.Result, settings));
            }

            connection.SetAsteriskId(learnt);
            logger.AsteriskIdLearnt(learnt);
        }

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(settings.Username + ":" + settings.Password)));
        socket.Options.KeepAliveInterval = settings.KeepAliveInterval;
        socket.Options.KeepAliveTimeout = settings.KeepAliveTimeout;
        socket.Options.CollectHttpResponseDetails = true;
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
        {
            connectTimeout.CancelAfter(settings.RequestTimeout);
            try
            {
                await socket.ConnectAsync(settings.EventsUri, connectTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                return new SessionEnd(false, false, $"events socket {settings.EventsUri}: no answer within {settings.RequestTimeout.TotalSeconds:0.#} s");
            }
            catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException)
            {
                var reason = socket.HttpStatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                    ? $"ARI rejected the credentials of user '{settings.Username}' ({(int)socket.HttpStatusCode}); check Ari:Username and Ari:Password"
                    : $"events socket {settings.EventsUri}: {e.Message}";
                return new SessionEnd(false, false, reason);
            }
        }

        connection.SetConnected();
        logger.EventsConnected(settings.EventsUri, settings.Username, connection.AsteriskId ?? "");

        // Events that arrived while no socket was open are lost in Asterisk; the resync recovers those calls.
        _ = handler.OnConnectedAsync(stoppingToken);
        return await ReceiveAsync(socket, settings.MaxEventBytes, stoppingToken).ConfigureAwait(false);
    }

    private async Task<SessionEnd> ReceiveAsync(ClientWebSocket socket, int maxBytes, CancellationToken stoppingToken)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var message = new ArrayBufferWriter<byte>(16 * 1024);
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult received;
                try
                {
                    received = await socket.ReceiveAsync(chunk.AsMemory(), stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is WebSocketException or IOException)
                {
                    return new SessionEnd(true, false, e.Message);
                }

                if (received.MessageType == WebSocketMessageType.Close)
                {
                    return new SessionEnd(true, false, $"closed by Asterisk ({socket.CloseStatus} {socket.CloseStatusDescription})");
                }

                if (message.WrittenCount + received.Count > maxBytes)
                {
                    // The rest of the message cannot be skipped without reading it all: start over on a new socket.
                    AriIngressTelemetry.SkippedEvents.Add(1);
                    logger.EventOversized(maxBytes);
                    socket.Abort();
                    return new SessionEnd(true, true, $"event larger than {maxBytes} bytes");
                }

                message.Write(chunk.AsSpan(0, received.Count));
                if (received.EndOfMessage)
                {
                    if (received.MessageType == WebSocketMessageType.Text)
                    {
                        Dispatch(message.WrittenSpan, Stopwatch.GetTimestamp());
                    }

                    message.ResetWrittenCount();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>Malformed events are logged and skipped.</summary>
    private void Dispatch(ReadOnlySpan<byte> utf8, long receivedTimestamp)
    {
        if (AriEventDecoder.TryDecode(utf8, out var evt, out var problem))
        {
            handler.OnEvent(evt, receivedTimestamp);
            return;
        }

        AriIngressTelemetry.SkippedEvents.Add(1);
        logger.EventMalformed(utf8.Length, problem);
    }

    private static string Describe(AriResult result, AriOptions settings) => result.Status switch
    {
        AriStatus.Unauthorized => $"ARI rejected the credentials of user '{settings.Username}' ({result.HttpStatus}); check Ari:Username and Ari:Password",
        AriStatus.Unreachable => $"{settings.RestRoot} unreachable: {result.Message}",
        AriStatus.Ok => "answer without system.entity_id",
        _ => $"{result.HttpStatus} {result.Message}",
    };
}
