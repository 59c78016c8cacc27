using System.Buffers;
using System.Net.WebSockets;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Sessions;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The AI gateway side of a session: its WebSocket (open from preparation on), the send lock every message to
/// the gateway takes (each send bounded by <see cref="RelayOptions.GatewaySendTimeout"/>), the receive loop that feeds bot
/// audio into the jitter buffer and tells a normal close from an error close or a keepalive timeout, and the close.</summary>
internal sealed class GatewayLeg(GatewayWebSocket socket, GatewayMediaCodec codec, JitterBuffer jitter, ISessionControl session,
    RelayOptions options, ILogger logger, GatewayStream? transport = null)
{
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    /// <summary>The keep-alive check (<see cref="GatewayStream.Check"/>), from the session watchdog: a gateway that
    /// answered nothing, not even a ping, for the keep-alive timeout is aborted, and the session ends as
    /// <c>gateway-keepalive-timeout</c>.</summary>
    public void CheckKeepAlive(long now)
    {
        if (transport is null || session.IsEnded || transport.Check(now))
        {
            return;
        }

        // The end (which aborts the socket) goes first: an abort before it would fail the receive loop, which could end
        // the session as gateway-failed first.
        MediaRelayLog.GatewayKeepAliveTimedOut(logger, session.CallId, session.SessionId, options.GatewayKeepAliveTimeout);
        _ = session.EndAsync(EndReason.GatewayKeepAliveTimeout);
    }

    /// <summary>True when the playout tick reads the gateway's socket (<see cref="TickedSocketStream"/>).</summary>
    public bool Ticked => transport?.Ticked is not null;

    /// <summary>The session's playout tick: the read waiting on the gateway socket gets its <c>recv</c> here.</summary>
    public void PollTick() => transport?.Ticked?.Poll();

    /// <summary>The session ends: reads go back to the socket engine (the close handshake still reads).</summary>
    public void StopTicking() => transport?.Ticked?.StopTicking();

    /// <summary>Starts reading the gateway: bot audio sent before Asterisk connects (a greeting) is buffered. The loop
    /// starts without the caller's execution context (the consumer's, or the HTTP request's: the consume span as
    /// <see cref="System.Diagnostics.Activity.Current"/>, the bus's and the host's async locals): captured, it would be
    /// restored around every step of the loop, one per bot message, and would keep that span alive for the whole call.</summary>
    public void Start()
    {
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(ReceiveAsync);
        }
    }

    /// <summary>Caller audio (PCM at the session's gateway rate) to the gateway, in the session's media mode.</summary>
    public ValueTask SendAudioAsync(ReadOnlyMemory<byte> pcm) => SendAsync(codec.EncodeAudio(pcm), codec.AudioMessageType);

    public ValueTask SendDtmfAsync(char digit) => SendAsync(codec.EncodeDtmf(digit), WebSocketMessageType.Text);

    /// <summary>Echoes a mark whose audio has played; never throws (the playout clock calls it).</summary>
    public async Task SendMarkAsync(string name)
    {
        try
        {
            await SendAsync(codec.EncodeMark(name), WebSocketMessageType.Text).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The gateway is gone: its receive loop ends the session.
        }
    }

    /// <summary>A failed gateway is aborted; otherwise <c>stop</c> (unless the gateway ended the call) and close 1000,
    /// within 2 s, or the socket is aborted.</summary>
    public async Task CloseAsync(bool failed, bool sendStop)
    {
        try
        {
            if (failed)
            {
                socket.Abort();
                return;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (socket.State == WebSocketState.Open && sendStop)
            {
                await SendAsync(codec.EncodeStop(), WebSocketMessageType.Text).AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
            }

            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _sendLock.WaitAsync(timeout.Token).ConfigureAwait(false);
                try
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token).ConfigureAwait(false);
                }
                finally
                {
                    _sendLock.Release();
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            socket.Abort();
        }
    }

    /// <summary>Sends one message under the send lock. The lock is nearly always free and the send nearly always
    /// completes at once (the kernel buffers it): then nothing here awaits (one frame per call per tick).</summary>
    private ValueTask SendAsync(ReadOnlyMemory<byte> message, WebSocketMessageType type) =>
        _sendLock.Wait(0) ? SendLocked(message, type) : WaitThenSendAsync(message, type);

    private async ValueTask WaitThenSendAsync(ReadOnlyMemory<byte> message, WebSocketMessageType type)
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        await SendLocked(message, type).ConfigureAwait(false);
    }

    /// <summary>The send, with the lock held; the lock is released when it is done.</summary>
    private ValueTask SendLocked(ReadOnlyMemory<byte> message, WebSocketMessageType type)
    {
        ValueTask send;
        try
        {
            if (socket.State != WebSocketState.Open)
            {
                _sendLock.Release();
                return default;
            }

            send = transport is not null
                ? transport.SendMessageAsync(type, message.Span)
                : socket.SendAsync(message, type, endOfMessage: true, CancellationToken.None);
            if (send.IsCompletedSuccessfully)
            {
                send.GetAwaiter().GetResult();
                _sendLock.Release();
                return default;
            }
        }
        catch (Exception e) when (IsGatewayError(e))
        {
            _sendLock.Release();
            _ = FailAsync(e);
            return default;
        }

        return FinishSendAsync(send);
    }

    /// <summary>A send that did not complete at once (or failed): bounded by <see cref="RelayOptions.GatewaySendTimeout"/>.</summary>
    private async ValueTask FinishSendAsync(ValueTask send)
    {
        try
        {
            await send.AsTask().WaitAsync(options.GatewaySendTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The bot stopped reading: the session ends (and aborts the socket, which completes the pending send).
            if (!session.IsEnded)
            {
                MediaRelayLog.GatewaySendTimedOut(logger, session.CallId, session.SessionId, options.GatewaySendTimeout);
                _ = session.EndAsync(EndReason.GatewaySendTimeout);
            }
        }
        catch (Exception e) when (IsGatewayError(e))
        {
            _ = FailAsync(e);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private static bool IsGatewayError(Exception e) =>
        e is WebSocketException or IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException;

    private async Task ReceiveAsync()
    {
        // Text messages are pieced together here; created with the first one (binary-mode bots may never send text).
        // Binary audio goes from the WebSocket's own receive buffer straight to the jitter buffer.
        ArrayBufferWriter<byte>? text = null;
        try
        {
            while (true)
            {
                var result = await socket.ReceivePieceAsync(int.MaxValue, CancellationToken.None).ConfigureAwait(false);
                switch (result.MessageType)
                {
                    case WebSocketMessageType.Close:
                        await session.EndAsync(ClosedReason()).ConfigureAwait(false);
                        return;
                    case WebSocketMessageType.Binary:
                        Apply(codec.DecodeBinary(socket.Piece));
                        break;
                    case WebSocketMessageType.Text:
                        text ??= new ArrayBufferWriter<byte>(1024);
                        if (text.WrittenCount + result.Count > options.MaxGatewayTextMessageBytes)
                        {
                            await session.EndAsync(EndReason.GatewayMessageTooLarge).ConfigureAwait(false);
                            return;
                        }

                        text.Write(socket.Piece);
                        if (result.EndOfMessage)
                        {
                            var kind = ApplyText(text.WrittenSpan);
                            text.ResetWrittenCount();
                            if (kind == GatewayEventKind.Stop)
                            {
                                await session.EndAsync(EndReason.GatewayStop).ConfigureAwait(false);
                            }
                        }

                        break;
                }
            }
        }
        catch (GatewayViolationException e)
        {
            MediaRelayLog.GatewayViolation(logger, session.CallId, session.SessionId, e.Violation);
            await session.EndAsync(EndReason.GatewayViolation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            await FailAsync(e).ConfigureAwait(false);
        }
    }

    /// <summary>1000 (normal) and 1001 (going away) are the bot ending the call on purpose: the caller is hung up. Any
    /// other status is an error: the caller goes to the fallback.</summary>
    private EndReason ClosedReason()
    {
        if (socket.CloseStatus is WebSocketCloseStatus.NormalClosure or WebSocketCloseStatus.EndpointUnavailable)
        {
            return EndReason.GatewayClosed;
        }

        MediaRelayLog.GatewayErrorClose(logger, session.CallId, session.SessionId, (int?)socket.CloseStatus ?? 0);
        return EndReason.GatewayCloseError;
    }

    /// <summary>Ends the session for a failed send or receive (the keep-alive ends it from <see cref="CheckKeepAlive"/>).</summary>
    private Task FailAsync(Exception e)
    {
        if (session.IsEnded)
        {
            return Task.CompletedTask;
        }

        // The relay's own WebSocket names the protocol fault, or where in a frame the connection ended (its messages
        // hold nothing of the URL); any other error is logged by its type only.
        var error = e is WebSocketException { WebSocketErrorCode: WebSocketError.Faulted or WebSocketError.ConnectionClosedPrematurely }
            ? e.Message
            : e.GetType().Name;
        MediaRelayLog.GatewayFailed(logger, session.CallId, session.SessionId, error);
        return session.EndAsync(EndReason.GatewayFailed);
    }

    /// <summary>A JSON message from the gateway (accepted in both modes); returns its kind for the caller to act on
    /// <c>stop</c> outside the rented buffer's lifetime.</summary>
    private GatewayEventKind ApplyText(ReadOnlySpan<byte> json)
    {
        var pcm = ArrayPool<byte>.Shared.Rent(GatewayMediaCodec.MaxPcmLength(json.Length));
        try
        {
            var message = codec.DecodeText(json, pcm);
            if (message.Kind == GatewayEventKind.Unparseable)
            {
                MediaRelayLog.GatewayControl(logger, session.CallId, session.SessionId, "unparseable");
            }
            else if (message.Kind != GatewayEventKind.Media && logger.IsEnabled(LogLevel.Debug))
            {
                MediaRelayLog.GatewayControl(logger, session.CallId, session.SessionId, message.Kind.ToString());
            }

            Apply(message);
            return message.Kind;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pcm);
        }
    }

    private void Apply(GatewayMessage message)
    {
        switch (message.Kind)
        {
            case GatewayEventKind.Media:
                jitter.Write(message.Pcm);
                break;
            case GatewayEventKind.Clear:
                jitter.RequestClear();
                break;
            case GatewayEventKind.Mark when message.MarkName is not null:
                jitter.AddMark(message.MarkName);
                break;
        }
    }
}
