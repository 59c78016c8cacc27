using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AstraPbx.Audio.Codecs;
using AstraPbx.Contracts.Media;
using Microsoft.AspNetCore.Http;

namespace AstraPbx.Simulators.Gateway;

/// <summary>One relay connection to a <see cref="FakeGateway"/>: the handshake it sent, what it sent since, and
/// controls to send audio and control events back, close or drop it. The Pipecat-like behaviour's part is in
/// <c>GatewaySession.PipecatLike.cs</c>.</summary>
public sealed partial class GatewaySession
{
    private const int ChunkBytes = 320; // 20 ms of 8 kHz 16-bit PCM
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(5);

    private readonly WebSocket _socket;
    private readonly HttpContext _context;
    private readonly FakeGatewayOptions _options;
    private readonly StartFrame _start = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly TaskCompletionSource _firstAudio = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TextInbox _texts = new();
    private readonly object _sizesLock = new();
    private long _audioBytes;
    private long _audioFrames;
    private long _smallestAudio;
    private long _largestAudio;
    private volatile bool _echoing;
    private readonly TaskCompletionSource _readingStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _ended = new();

    internal GatewaySession(WebSocket socket, HttpContext context, string path, FakeGatewayOptions options)
    {
        (_socket, _context, _options, Path) = (socket, context, options, path);
    }

    /// <summary>The request path the relay connected to (no query string: that is the secret).</summary>
    public string Path { get; }

    /// <summary>The first handshake frame, if it was JSON.</summary>
    public JsonDocument? Connected { get; private set; }

    /// <summary>The second handshake frame, if it was JSON.</summary>
    public JsonDocument? Start { get; private set; }

    /// <summary>Why the handshake was refused (the session was then closed with 1008 policy violation); null when valid.</summary>
    public string? HandshakeError { get; private set; }

    /// <summary><see cref="MediaMode.AstraPbxBinary"/> when <c>start.customParameters.provider</c> is <c>astrapbx</c>,
    /// else <see cref="MediaMode.Twilio"/>.</summary>
    public MediaMode Mode => _start.Mode;

    /// <summary><c>start.streamSid</c> (<c>asterisk_&lt;channelId&gt;</c>).</summary>
    public string? StreamSid => _start.StreamSid;

    /// <summary><c>start.callSid</c> (the Asterisk channel id).</summary>
    public string? CallSid => _start.CallSid;

    /// <summary>The PCM rate of the session's audio: <c>start.mediaFormat.sampleRate</c> in binary mode (8000 or
    /// 16000), 8000 in Twilio mode.</summary>
    public int SampleRate => Mode == MediaMode.AstraPbxBinary ? _start.SampleRate : 8000;

    /// <summary><c>start.customParameters</c> as strings.</summary>
    public IReadOnlyDictionary<string, string> CustomParameters => _start.CustomParameters;

    /// <summary>PCM bytes of caller audio received (decoded from mu-law in Twilio mode: two per mu-law byte).</summary>
    public long AudioBytesReceived => Interlocked.Read(ref _audioBytes);

    /// <summary>Audio messages received (binary frames, or Twilio <c>media</c> events).</summary>
    public long AudioFramesReceived => Interlocked.Read(ref _audioFrames);

    /// <summary>The smallest and the largest audio message received so far, in PCM bytes ((0, 0) before any): one
    /// consistent reading while audio still arrives, which the two counters above are not.</summary>
    public (long Smallest, long Largest) AudioMessageBytes
    {
        get
        {
            lock (_sizesLock)
            {
                return (_smallestAudio, _largestAudio);
            }
        }
    }

    /// <summary>Every text frame after the handshake except Twilio <c>media</c>: <c>dtmf</c>, <c>stop</c>, mark echoes...</summary>
    public ConcurrentQueue<string> TextReceived { get; } = new();

    /// <summary>Protocol oddities seen after the handshake (e.g. a binary frame in Twilio mode).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>Completes when the first caller audio arrives.</summary>
    public Task FirstAudio => _firstAudio.Task;

    /// <summary>Completes when the WebSocket is closed or dropped.</summary>
    public Task Closed => _closed.Task;

    /// <summary>The close status the relay sent; null if it dropped the connection without a close frame.</summary>
    public WebSocketCloseStatus? CloseStatus { get; private set; }

    /// <summary>The close description the relay sent.</summary>
    public string? CloseDescription { get; private set; }

    /// <summary>The first text frame matching <paramref name="match"/> that no earlier call returned, received before
    /// or after this call.</summary>
    /// <exception cref="TimeoutException">None arrived within <paramref name="timeout"/>.</exception>
    public Task<string> NextText(Func<string, bool> match, TimeSpan timeout) => _texts.NextAsync(match, timeout);

    /// <summary>Sends bot audio (PCM 16-bit LE, 8 kHz): one binary frame in binary mode, one Twilio <c>media</c>
    /// event with base64 mu-law in Twilio mode.</summary>
    public async Task SendAudioAsync(ReadOnlyMemory<byte> pcm8k)
    {
        if (Mode == MediaMode.AstraPbxBinary)
        {
            await SendAsync(pcm8k, WebSocketMessageType.Binary).ConfigureAwait(false);
            return;
        }

        var ulaw = new byte[pcm8k.Length / 2];
        MuLaw.EncodePcm16(pcm8k.Span[..(ulaw.Length * 2)], ulaw);
        await SendTextAsync(GatewayJson.MediaJson(StreamSid, Convert.ToBase64String(ulaw))).ConfigureAwait(false);
    }

    /// <summary>Sends <c>{"event":"clear"}</c> (barge-in: the relay drops queued bot audio).</summary>
    public Task SendClearAsync() => SendTextAsync(GatewayJson.Control("clear", StreamSid));

    /// <summary>Sends <c>{"event":"mark","mark":{"name":...}}</c>; the relay echoes it once the audio before it has played.</summary>
    public Task SendMarkAsync(string name) => SendTextAsync(GatewayJson.Control("mark", StreamSid, w =>
    {
        w.WriteStartObject("mark");
        w.WriteString("name", name);
        w.WriteEndObject();
    }));

    /// <summary>Sends <c>{"event":"stop"}</c> (the bot ends the call).</summary>
    public Task SendStopAsync() => SendTextAsync(GatewayJson.Control("stop", StreamSid));

    /// <summary>Sends any text frame.</summary>
    public Task SendTextAsync(string json) => SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text);

    /// <summary>The gateway closes the WebSocket (sends a close frame); <see cref="Closed"/> completes once the relay answers.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure, string description = "bye")
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(status, description, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>The bot hangs: it stops reading the WebSocket (after the message in progress) without closing it, so
    /// pings go unanswered and the relay's sends back up.</summary>
    public void StopReading() => _readingStopped.TrySetResult();

    /// <summary>The gateway fails: drops the TCP connection without a close frame.</summary>
    public void Abort()
    {
        _socket.Abort();
        if (_closed.Task.IsCompleted)
        {
            return;
        }

        try
        {
            _context.Abort();
        }
        catch (ObjectDisposedException)
        {
            // The request ended meanwhile: nothing left to drop.
        }
    }

    internal async Task RunAsync(Action<GatewaySession> onHandshakeRead, CancellationToken stopping)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            HandshakeError = await ReadHandshakeAsync(buffer, stopping).ConfigureAwait(false);
            if (HandshakeError is null && !_options.CloseAfterHandshake)
            {
                // Before the session is announced: a test that gets it may make the bot speak at once.
                StartBehaviour(_ended.Token);
            }

            onHandshakeRead(this);
            if (HandshakeError is not null)
            {
                await CloseAsync(WebSocketCloseStatus.PolicyViolation, "invalid handshake").ConfigureAwait(false);
            }
            else if (_options.CloseAfterHandshake)
            {
                await CloseAsync().ConfigureAwait(false);
            }

            await ReceiveMediaAsync(buffer, stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            await _ended.CancelAsync().ConfigureAwait(false);
            _closed.TrySetResult();
        }
    }

    private void StartBehaviour(CancellationToken ended)
    {
        if (_options.Behavior == GatewayBehavior.PipecatLike)
        {
            StartSpeaking(ended);
            return;
        }

        var play = _options.Behavior == GatewayBehavior.DemoBot ? _options.PlayPcm ?? GatewayAudio.DemoPrompt() : _options.PlayPcm;
        _echoing = _options.Behavior == GatewayBehavior.Echo;
        if (play is null)
        {
            _echoing = _options.Behavior != GatewayBehavior.Silent;
            return;
        }

        _ = PlayAsync(play);
    }

    private async Task PlayAsync(byte[] pcm)
    {
        try
        {
            for (var offset = 0; offset < pcm.Length; offset += ChunkBytes)
            {
                await SendAudioAsync(pcm.AsMemory(offset, Math.Min(ChunkBytes, pcm.Length - offset))).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            return;
        }

        _echoing = _options.Behavior != GatewayBehavior.Silent;
    }

    /// <summary>Reads and checks the two handshake text frames (PROTOCOLS.md 2); returns the error, or null when valid.</summary>
    private async Task<string?> ReadHandshakeAsync(ArrayBufferWriter<byte> buffer, CancellationToken stopping)
    {
        var (connected, error) = await ReadJsonFrameAsync(buffer, "first", "connected", "closed before the handshake", stopping).ConfigureAwait(false);
        Connected = connected;
        if (error is not null)
        {
            return error;
        }

        error = GatewayHandshake.ValidateConnected(connected!.RootElement);
        if (error is not null)
        {
            return error;
        }

        (Start, error) = await ReadJsonFrameAsync(buffer, "second", "start", "closed after 'connected', before 'start'", stopping).ConfigureAwait(false);
        return error ?? GatewayHandshake.ValidateStart(Start!.RootElement, _start, _options.AcceptSeedHandshake);
    }

    /// <summary>One handshake frame, which must be a JSON text frame; else why not.</summary>
    private async Task<(JsonDocument? Json, string? Error)> ReadJsonFrameAsync(
        ArrayBufferWriter<byte> buffer, string ordinal, string name, string whenClosed, CancellationToken stopping)
    {
        var type = await ReceiveMessageAsync(buffer, stopping).ConfigureAwait(false);
        if (type is null)
        {
            return (null, whenClosed);
        }

        if (type != WebSocketMessageType.Text)
        {
            return (null, $"{ordinal} frame is not a text frame");
        }

        var json = GatewayJson.TryParse(buffer.WrittenMemory);
        return (json, json is null ? $"{name}: not JSON" : null);
    }

    private async Task ReceiveMediaAsync(ArrayBufferWriter<byte> buffer, CancellationToken stopping)
    {
        while (true)
        {
            if (_readingStopped.Task.IsCompleted)
            {
                // A hung bot: nothing more is read (so no pong answers a ping) until the relay gives up on the socket.
                await Task.Delay(Timeout.Infinite, stopping).ConfigureAwait(false);
            }

            var type = await ReceiveMessageAsync(buffer, stopping).ConfigureAwait(false);
            if (type is null)
            {
                return;
            }

            if (HandshakeError is not null)
            {
                continue;
            }

            if (type == WebSocketMessageType.Binary)
            {
                if (Mode != MediaMode.AstraPbxBinary)
                {
                    Errors.Enqueue($"binary frame of {buffer.WrittenCount} bytes in Twilio mode");
                    continue;
                }

                CountAudio(buffer.WrittenCount);
                OnCallerAudio(buffer.WrittenSpan);
                if (_echoing)
                {
                    _options.BeforeEcho?.Invoke(System.Runtime.InteropServices.MemoryMarshal.AsMemory(buffer.WrittenMemory).Span, null);
                    await SendAsync(buffer.WrittenMemory, WebSocketMessageType.Binary).ConfigureAwait(false);
                }

                continue;
            }

            if (Mode == MediaMode.Twilio && GatewayJson.TryReadMediaPayload(buffer.WrittenSpan, out var payload))
            {
                CountAudio(GatewayJson.Base64DecodedLength(payload) * 2);
                OnCallerMuLaw(payload);
                if (_echoing)
                {
                    await SendTextAsync(GatewayJson.MediaJson(StreamSid, payload)).ConfigureAwait(false);
                }

                continue;
            }

            var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
            OnControl(buffer.WrittenMemory);
            TextReceived.Enqueue(text);
            _texts.Add(text);
        }
    }

    private void CountAudio(long pcmBytes)
    {
        lock (_sizesLock)
        {
            _smallestAudio = _smallestAudio == 0 ? pcmBytes : Math.Min(_smallestAudio, pcmBytes);
            _largestAudio = Math.Max(_largestAudio, pcmBytes);
        }

        Interlocked.Add(ref _audioBytes, pcmBytes);
        if (Interlocked.Increment(ref _audioFrames) == 1)
        {
            _firstAudio.TrySetResult();
        }
    }

    /// <summary>Reads one whole message into <paramref name="buffer"/> (cleared first); null when the relay closed.</summary>
    private async Task<WebSocketMessageType?> ReceiveMessageAsync(ArrayBufferWriter<byte> buffer, CancellationToken stopping)
    {
        buffer.ResetWrittenCount();
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer.GetMemory(4096), stopping).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                CloseStatus = _socket.CloseStatus;
                CloseDescription = _socket.CloseStatusDescription;
                await AnswerCloseAsync().ConfigureAwait(false);
                return null;
            }

            buffer.Advance(result.Count);
            if (result.EndOfMessage)
            {
                return result.MessageType;
            }
        }
    }

    private async Task AnswerCloseAsync()
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_socket.State == WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(CloseWait);
                await _socket.CloseOutputAsync(CloseStatus ?? WebSocketCloseStatus.NormalClosure, null, timeout.Token)
                    .ConfigureAwait(false);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Sends one message; with <paramref name="stillWanted"/>, only if it says so once the send lock is held
    /// (false then, and nothing sent).</summary>
    private async Task<bool> SendAsync(ReadOnlyMemory<byte> message, WebSocketMessageType type, Func<bool>? stillWanted = null)
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (stillWanted is not null && !stillWanted())
            {
                return false;
            }

            await _socket.SendAsync(message, type, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
