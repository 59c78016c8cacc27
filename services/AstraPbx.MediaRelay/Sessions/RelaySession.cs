using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Audio.Codecs;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Media;
using AstraPbx.ServiceDefaults.Telemetry;
using MassTransit;

namespace AstraPbx.MediaRelay.Sessions;

/// <summary>What a session needs from the relay around it.</summary>
internal sealed record SessionServices(
    PlayoutClock Clock,
    SessionRegistry Registry,
    IBus Bus,
    RelayOptions Options,
    ILogger Logger);

/// <summary>One AI call: the gateway WebSocket (open from preparation on), and once Asterisk claims the UUID, its
/// AudioSocket connection. Caller audio goes to the gateway as it arrives; bot audio goes through the jitter buffer
/// and out one 20 ms frame per shared clock tick. Only the clock writes audio to Asterisk, so the frame writer has
/// a single writer; the end path takes the same gate to write the final 0x00.</summary>
internal sealed class RelaySession : IPlayoutTarget
{
    /// <summary>The largest payload accepted from Asterisk: 20 ms at 96 kHz is 3840 bytes; anything bigger is refused
    /// before its payload is awaited.</summary>
    public const int MaxPayloadFromCaller = 8192;

    /// <summary>How long the output to Asterisk may stay blocked (Asterisk not reading) before the session ends. Real
    /// time, not ticks: it is about the peer's socket, not the playout schedule.</summary>
    private static readonly TimeSpan BlockedLimit = TimeSpan.FromSeconds(2);

    private const int Pending = 0;
    private const int Live = 1;
    private const int Ended = 2;

    private static readonly byte[] MediaPrefix = "{\"event\":\"media\",\"streamSid\":\""u8.ToArray();
    private static readonly byte[] MediaMiddle = "\",\"media\":{\"payload\":\""u8.ToArray();
    private static readonly byte[] MediaSuffix = "\"}}"u8.ToArray();

    private readonly SessionServices _services;
    private readonly ClientWebSocket _gateway;
    private readonly JitterBuffer _jitter;
    private readonly Activity? _activity;
    private readonly byte[] _streamSidJson;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly object _writeGate = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _callerRead = new();
    private readonly long _createdAt = Stopwatch.GetTimestamp();

    // Hot-path buffers, one set per session: nothing is allocated per frame.
    private readonly byte[] _inFrame = new byte[MaxPayloadFromCaller];
    private readonly byte[] _in8k = new byte[MaxPayloadFromCaller];
    private readonly byte[] _ulawOut = new byte[MaxPayloadFromCaller / 2];
    private readonly byte[] _mediaJson;
    private readonly byte[] _frame8k = new byte[JitterBuffer.FrameBytes];
    private readonly byte[] _frameOut = new byte[JitterBuffer.FrameBytes * 2];

    private int _state = Pending;
    private int _endStarted;
    private long _liveAt;
    private long _lastInput;
    private PipeWriter? _output;
    private PipeReader? _input;
    private Task? _pendingFlush;
    private long _blockedSince;
    private long _skippedTicks;
    private bool _outputClosed;
    private volatile int _callerKind;
    private long _framesToGateway;
    private long _framesToCaller;
    private long _bytesToGateway;
    private long _bytesToCaller;
    private long _lateTicks;
    private double _maxLatenessMs;
    private long _reportedUnderruns;
    private long _reportedTrimmed;
    private SessionEndedBy _endedBy;
    private string _reason = "";

    public RelaySession(StartAiSession request, ClientWebSocket gateway, Activity? activity, SessionServices services)
    {
        SessionId = request.SessionId;
        CallId = request.CallId;
        AsteriskId = request.AsteriskId;
        Mode = request.MediaMode;
        Gateway = SecretRedactor.RedactUrl(request.GatewayUrl);
        StreamSid = GatewayHandshake.StreamSid(request.CallId);
        _gateway = gateway;
        _activity = activity;
        _services = services;
        _jitter = new JitterBuffer(services.Options.JitterTargetMs, services.Options.JitterCapMs);
        _streamSidJson = JsonEncodedText.Encode(StreamSid).EncodedUtf8Bytes.ToArray();
        _mediaJson = new byte[MediaPrefix.Length + _streamSidJson.Length + MediaMiddle.Length + Base64.GetMaxEncodedToUtf8Length(_ulawOut.Length) + MediaSuffix.Length];
        CreatedUtc = DateTime.UtcNow;
    }

    public Guid SessionId { get; }

    public string CallId { get; }

    public string AsteriskId { get; }

    public MediaMode Mode { get; }

    /// <summary>The gateway URL with its query string redacted.</summary>
    public string Gateway { get; }

    public string StreamSid { get; }

    public DateTime CreatedUtc { get; }

    public bool IsPending => Volatile.Read(ref _state) == Pending;

    public bool IsLive => Volatile.Read(ref _state) == Live;

    public bool IsEnded => Volatile.Read(ref _endStarted) != 0;

    /// <summary>Completes once the session has fully ended and <c>AiSessionEnded</c> was published.</summary>
    public Task Completion => _ended.Task;

    public TimeSpan Age => Stopwatch.GetElapsedTime(_createdAt);

    public TimeSpan CallerIdle => Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastInput));

    public long FramesToGateway => Interlocked.Read(ref _framesToGateway);

    public long FramesToCaller => Interlocked.Read(ref _framesToCaller);

    public long Underruns => _jitter.Underruns;

    public long LateTicks => Interlocked.Read(ref _lateTicks);

    public double MaxLatenessMs => Volatile.Read(ref _maxLatenessMs);

    /// <summary>Ticks whose frame was skipped because Asterisk's socket was full.</summary>
    internal long SkippedTicks => _skippedTicks;

    /// <summary>The jitter buffer (tests look at its state between ticks).</summary>
    internal JitterBuffer Jitter => _jitter;

    /// <summary>True once Asterisk's first audio frame told the rate to play out at.</summary>
    internal bool CallerRateKnown => _callerKind != 0;

    /// <summary>Starts reading the gateway: bot audio sent before Asterisk connects (a greeting) is buffered.</summary>
    public void StartGateway() => _ = Task.Run(ReceiveGatewayAsync);

    /// <summary>Claims the pending session for an AudioSocket connection; false if already claimed or ended.</summary>
    public bool TryClaim()
    {
        if (Volatile.Read(ref _state) != Pending)
        {
            return false;
        }

        // Idle time counts from the claim: the watchdog may look at a live session before RunCallerAsync starts.
        Interlocked.Exchange(ref _lastInput, Stopwatch.GetTimestamp());
        Interlocked.Exchange(ref _liveAt, Stopwatch.GetTimestamp());
        return Interlocked.CompareExchange(ref _state, Live, Pending) == Pending && !IsEnded;
    }

    /// <summary>Relays a claimed AudioSocket connection (its UUID frame already consumed) until the call ends.</summary>
    public async Task RunCallerAsync(PipeReader input, PipeWriter output)
    {
        _input = input;
        _output = output;
        RelayTelemetry.ActiveSessions.Add(1);
        _services.Clock.Add(this);
        try
        {
            await ReadCallerAsync().ConfigureAwait(false);
        }
        finally
        {
            if (!IsEnded)
            {
                await EndAsync(SessionEndedBy.Relay, "relay-error").ConfigureAwait(false);
            }

            await _ended.Task.ConfigureAwait(false);
        }
    }

    private async Task ReadCallerAsync()
    {
        var input = _input!;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(_callerRead.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                await EndAsync(SessionEndedBy.Caller, "caller-reset").ConfigureAwait(false);
                return;
            }

            var buffer = result.Buffer;
            if (IsEnded)
            {
                // After our 0x00, Asterisk closes; read what it still sends so the close is not a reset.
                input.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }

                continue;
            }

            if (!buffer.IsEmpty)
            {
                Interlocked.Exchange(ref _lastInput, Stopwatch.GetTimestamp());
            }

            string? bad = null;
            while (bad is null && !IsEnded)
            {
                if (AudioSocketFrameReader.PeekLength(buffer) > MaxPayloadFromCaller)
                {
                    bad = "oversized-frame";
                    break;
                }

                if (!AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed))
                {
                    break;
                }

                bad = await HandleCallerFrameAsync(frame).ConfigureAwait(false);
                buffer = buffer.Slice(consumed);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (bad is not null)
            {
                MediaRelayLog.MalformedInput(_services.Logger, CallId, SessionId, bad);
                await EndAsync(SessionEndedBy.Relay, bad).ConfigureAwait(false);
                continue;
            }

            if (result.IsCompleted && !IsEnded)
            {
                await EndAsync(SessionEndedBy.Caller, buffer.IsEmpty ? "caller-closed" : "truncated-frame").ConfigureAwait(false);
                return;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }
        }
    }

    /// <summary>One frame from Asterisk; returns the reason when it is bad input.</summary>
    private async ValueTask<string?> HandleCallerFrameAsync(AudioSocketFrame frame)
    {
        if (_services.Logger.IsEnabled(LogLevel.Trace))
        {
            MediaRelayLog.FrameFromCaller(_services.Logger, CallId, SessionId, (byte)frame.Kind, frame.Length);
        }

        switch (frame.Kind)
        {
            case var kind when AudioSocketFormat.IsAudio(kind):
                var rate = AudioSocketFormat.SampleRate(kind);
                if (rate is not (8000 or 16000))
                {
                    return "unsupported-audio-kind";
                }

                if (frame.Length == 0 || (frame.Length & 1) != 0)
                {
                    return "bad-audio-length";
                }

                frame.Payload.CopyTo(_inFrame);
                _callerKind = (int)kind;
                var length = frame.Length;
                if (rate != 8000)
                {
                    // The gateway side is always 8 kHz (PROTOCOLS.md 2): resample, never pass a rate through.
                    length = Resampler.Resample(_inFrame.AsSpan(0, length), rate, _in8k, 8000);
                    Buffer.BlockCopy(_in8k, 0, _inFrame, 0, length);
                }

                Interlocked.Increment(ref _framesToGateway);
                Interlocked.Add(ref _bytesToGateway, frame.Length);
                RelayTelemetry.FramesToGateway.Add(1);
                await SendAudioToGatewayAsync(length).ConfigureAwait(false);
                return null;

            case AudioSocketKind.Dtmf:
                if (frame.Length != 1)
                {
                    return "bad-dtmf";
                }

                var digit = (char)frame.Payload.FirstSpan[0];
                if (!(char.IsAsciiDigit(digit) || digit is '*' or '#' or (>= 'A' and <= 'D')))
                {
                    return "bad-dtmf";
                }

                await SendDtmfAsync(digit).ConfigureAwait(false);
                return null;

            case AudioSocketKind.Error:
                await EndAsync(SessionEndedBy.Caller, "caller-error").ConfigureAwait(false);
                return null;

            case AudioSocketKind.Hangup:
                await EndAsync(SessionEndedBy.Caller, "caller-hangup").ConfigureAwait(false);
                return null;

            case AudioSocketKind.Uuid:
                return "unexpected-uuid";

            default:
                return "unknown-kind";
        }
    }

    private ValueTask SendAudioToGatewayAsync(int length)
    {
        if (Mode == MediaMode.AstraPbxBinary)
        {
            return SendToGatewayAsync(_inFrame.AsMemory(0, length), WebSocketMessageType.Binary);
        }

        // {"event":"media","streamSid":"...","media":{"payload":"<base64 mu-law>"}}, built in place.
        var samples = length / 2;
        MuLaw.EncodePcm16(_inFrame.AsSpan(0, length), _ulawOut);
        var json = _mediaJson.AsSpan();
        var at = 0;
        MediaPrefix.CopyTo(json);
        at += MediaPrefix.Length;
        _streamSidJson.CopyTo(json[at..]);
        at += _streamSidJson.Length;
        MediaMiddle.CopyTo(json[at..]);
        at += MediaMiddle.Length;
        Base64.EncodeToUtf8(_ulawOut.AsSpan(0, samples), json[at..], out _, out var written);
        at += written;
        MediaSuffix.CopyTo(json[at..]);
        at += MediaSuffix.Length;
        return SendToGatewayAsync(_mediaJson.AsMemory(0, at), WebSocketMessageType.Text);
    }

    private ValueTask SendDtmfAsync(char digit) =>
        SendToGatewayAsync(Event("dtmf", "dtmf", "digit", digit.ToString()), WebSocketMessageType.Text);

    private async Task SendMarkAsync(string name)
    {
        try
        {
            await SendToGatewayAsync(Event("mark", "mark", "name", name), WebSocketMessageType.Text).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The gateway is gone: its receive loop ends the session.
        }
    }

    private byte[] Event(string name, string? section = null, string? key = null, string? value = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("event", name);
            json.WriteString("streamSid", StreamSid);
            if (section is not null)
            {
                json.WriteStartObject(section);
                json.WriteString(key!, value);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private async ValueTask SendToGatewayAsync(ReadOnlyMemory<byte> message, WebSocketMessageType type)
    {
        await _sendLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_gateway.State == WebSocketState.Open)
            {
                await _gateway.SendAsync(message, type, endOfMessage: true, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            if (!IsEnded)
            {
                MediaRelayLog.GatewayFailed(_services.Logger, CallId, SessionId, e.GetType().Name);
                _ = EndAsync(SessionEndedBy.Gateway, "gateway-failed");
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReceiveGatewayAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var text = new ArrayBufferWriter<byte>(1024);
        try
        {
            while (true)
            {
                var result = await _gateway.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).ConfigureAwait(false);
                switch (result.MessageType)
                {
                    case WebSocketMessageType.Close:
                        await EndAsync(SessionEndedBy.Gateway, "gateway-closed").ConfigureAwait(false);
                        return;
                    case WebSocketMessageType.Binary when Mode == MediaMode.AstraPbxBinary:
                        _jitter.Write(buffer.AsSpan(0, result.Count));
                        break;
                    case WebSocketMessageType.Text:
                        if (text.WrittenCount + result.Count > 1024 * 1024)
                        {
                            await EndAsync(SessionEndedBy.Gateway, "gateway-message-too-large").ConfigureAwait(false);
                            return;
                        }

                        text.Write(buffer.AsSpan(0, result.Count));
                        if (result.EndOfMessage)
                        {
                            var parsed = TryParseGatewayText(text.WrittenSpan);
                            text.ResetWrittenCount();
                            await HandleGatewayTextAsync(parsed).ConfigureAwait(false);
                        }

                        break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            if (!IsEnded)
            {
                MediaRelayLog.GatewayFailed(_services.Logger, CallId, SessionId, e.GetType().Name);
                await EndAsync(SessionEndedBy.Gateway, "gateway-failed").ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private enum GatewayEvent
    {
        Other,
        Media,
        Clear,
        Mark,
        Stop,
    }

    private (GatewayEvent Kind, string? Mark, byte[]? Pcm, int PcmLength)? TryParseGatewayText(ReadOnlySpan<byte> message)
    {
        try
        {
            return ParseGatewayText(message);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            MediaRelayLog.GatewayControl(_services.Logger, CallId, SessionId, "unparseable");
            return null;
        }
    }

    /// <summary>A JSON control message from the gateway (<c>media</c>, <c>clear</c>, <c>mark</c>, <c>stop</c>; others
    /// ignored). Accepted in both modes: the seed's gateways send <c>stop</c> in binary mode too.</summary>
    private async Task HandleGatewayTextAsync((GatewayEvent Kind, string? Mark, byte[]? Pcm, int PcmLength)? parsed)
    {
        if (parsed is not var (kind, markName, pcm, pcmLength))
        {
            return;
        }

        if (_services.Logger.IsEnabled(LogLevel.Debug) && kind != GatewayEvent.Media)
        {
            MediaRelayLog.GatewayControl(_services.Logger, CallId, SessionId, kind.ToString());
        }

        switch (kind)
        {
            case GatewayEvent.Media when pcm is not null:
                _jitter.Write(pcm.AsSpan(0, pcmLength));
                ArrayPool<byte>.Shared.Return(pcm);
                break;
            case GatewayEvent.Clear:
                _jitter.RequestClear();
                break;
            case GatewayEvent.Mark when markName is not null:
                _jitter.AddMark(markName);
                break;
            case GatewayEvent.Stop:
                await EndAsync(SessionEndedBy.Gateway, "gateway-stop").ConfigureAwait(false);
                break;
        }
    }

    private static (GatewayEvent Kind, string? Mark, byte[]? Pcm, int PcmLength) ParseGatewayText(ReadOnlySpan<byte> message)
    {
        var reader = new Utf8JsonReader(message);
        var kind = GatewayEvent.Other;
        string? mark = null;
        ReadOnlySpan<byte> payload = default;
        byte[]? unescaped = null;
        var section = 0; // 1 = inside "media", 2 = inside "mark"
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.CurrentDepth == 1)
            {
                section = reader.ValueTextEquals("media"u8) ? 1 : reader.ValueTextEquals("mark"u8) ? 2 : 0;
                if (reader.ValueTextEquals("event"u8))
                {
                    reader.Read();
                    kind = reader.ValueTextEquals("media"u8) ? GatewayEvent.Media
                        : reader.ValueTextEquals("clear"u8) ? GatewayEvent.Clear
                        : reader.ValueTextEquals("mark"u8) ? GatewayEvent.Mark
                        : reader.ValueTextEquals("stop"u8) ? GatewayEvent.Stop
                        : GatewayEvent.Other;
                }
            }
            else if (reader.CurrentDepth == 2 && section == 1 && reader.ValueTextEquals("payload"u8))
            {
                reader.Read();
                if (reader.ValueIsEscaped)
                {
                    unescaped = Encoding.UTF8.GetBytes(reader.GetString() ?? "");
                    payload = unescaped;
                }
                else
                {
                    payload = reader.ValueSpan;
                }
            }
            else if (reader.CurrentDepth == 2 && section == 2 && reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                mark = reader.GetString();
            }
        }

        if (kind != GatewayEvent.Media || payload.IsEmpty)
        {
            return (kind, mark, null, 0);
        }

        // base64 mu-law -> mu-law -> PCM16 8 kHz.
        var ulaw = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(payload.Length));
        try
        {
            if (Base64.DecodeFromUtf8(payload, ulaw, out _, out var samples) != OperationStatus.Done)
            {
                throw new FormatException("media payload is not base64");
            }

            var pcm = ArrayPool<byte>.Shared.Rent(samples * 2);
            MuLaw.DecodeToPcm16(ulaw.AsSpan(0, samples), pcm.AsSpan(0, samples * 2));
            return (kind, mark, pcm, samples * 2);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(ulaw);
        }
    }

    /// <summary>The shared clock's tick: exactly one frame to Asterisk (bot audio or silence), then due marks.</summary>
    public void OnTick(long tick, double latenessMs, int skippedTicks)
    {
        try
        {
            if (latenessMs > PlayoutClock.LateThresholdMs)
            {
                Interlocked.Increment(ref _lateTicks);
            }

            if (latenessMs > _maxLatenessMs)
            {
                Volatile.Write(ref _maxLatenessMs, latenessMs);
            }

            // The clock stalled and skipped these ticks rather than burst them: their audio is now late.
            _jitter.NoteSkippedTicks(skippedTicks);

            var kind = (AudioSocketKind)_callerKind;
            if (kind == 0)
            {
                // Asterisk's first audio frame tells the rate it expects back (0x10 for AudioSocket(), 0x12 for slin16).
                return;
            }

            lock (_writeGate)
            {
                if (_outputClosed)
                {
                    return;
                }

                if (_pendingFlush is not null)
                {
                    if (!_pendingFlush.IsCompleted)
                    {
                        // Never queue unbounded audio behind a peer that is not reading: skip this tick's frame.
                        _skippedTicks++;
                        _jitter.NoteSkippedTicks(1);
                        if (_blockedSince == 0)
                        {
                            _blockedSince = Stopwatch.GetTimestamp();
                        }
                        else if (Stopwatch.GetElapsedTime(_blockedSince) > BlockedLimit)
                        {
                            _ = EndAsync(SessionEndedBy.Relay, "caller-not-reading");
                        }

                        return;
                    }

                    _pendingFlush = null;
                    _blockedSince = 0;
                }

                _jitter.ReadFrame(_frame8k);
                ReadOnlySpan<byte> payload = _frame8k;
                if (kind != AudioSocketKind.Slin)
                {
                    var written = Resampler.Resample(_frame8k, 8000, _frameOut, AudioSocketFormat.SampleRate(kind));
                    payload = _frameOut.AsSpan(0, written);
                }

                AudioSocketFrameWriter.Write(_output!, kind, payload);
                Interlocked.Increment(ref _framesToCaller);
                Interlocked.Add(ref _bytesToCaller, payload.Length);
                var flush = _output!.FlushAsync();
                if (!flush.IsCompletedSuccessfully)
                {
                    _pendingFlush = flush.AsTask();
                }
            }

            RelayTelemetry.FramesToCaller.Add(1);
            var underruns = _jitter.Underruns;
            if (underruns != _reportedUnderruns)
            {
                RelayTelemetry.Underruns.Add(underruns - _reportedUnderruns);
                _reportedUnderruns = underruns;
            }

            var trimmed = _jitter.TrimmedFrames;
            if (trimmed != _reportedTrimmed)
            {
                RelayTelemetry.TrimmedFrames.Add(trimmed - _reportedTrimmed);
                _reportedTrimmed = trimmed;
            }

            while (_jitter.TryTakeDueMark(out var name))
            {
                _ = SendMarkAsync(name);
            }
        }
        catch (Exception e)
        {
            MediaRelayLog.TickFailed(_services.Logger, e, CallId, SessionId);
            _ = EndAsync(SessionEndedBy.Relay, "relay-error");
        }
    }

    /// <summary>Ends the session once, from whichever side: 0x00 to Asterisk unless Asterisk ended it, <c>stop</c> and
    /// close 1000 to the gateway unless the gateway ended it, then <c>AiSessionEnded</c>.</summary>
    public async Task EndAsync(SessionEndedBy endedBy, string reason)
    {
        if (Interlocked.Exchange(ref _endStarted, 1) != 0)
        {
            return;
        }

        var wasLive = Interlocked.Exchange(ref _state, Ended) == Live;
        _endedBy = endedBy;
        _reason = reason;
        _services.Clock.Remove(this);
        if (wasLive)
        {
            if (endedBy != SessionEndedBy.Caller)
            {
                await HangUpCallerAsync().ConfigureAwait(false);
            }

            // Stop reading what Asterisk still sends after a while, whoever ended the call.
            _callerRead.CancelAfter(TimeSpan.FromSeconds(2));
            RelayTelemetry.ActiveSessions.Add(-1);
        }

        await CloseGatewayAsync(endedBy, reason).ConfigureAwait(false);
        _services.Registry.Remove(this);
        MediaRelayLog.SessionEnded(_services.Logger, CallId, SessionId, endedBy, reason, FramesToGateway, FramesToCaller, Underruns);
        await PublishEndedAsync(wasLive).ConfigureAwait(false);
        _activity?.SetTag("astrapbx.session.ended_by", endedBy.ToString());
        _activity?.SetTag("astrapbx.session.end_reason", reason);
        _activity?.SetTag("astrapbx.session.frames_to_gateway", FramesToGateway);
        _activity?.SetTag("astrapbx.session.frames_to_caller", FramesToCaller);
        if (endedBy == SessionEndedBy.Relay || reason == "gateway-failed")
        {
            _activity?.SetStatus(ActivityStatusCode.Error, reason);
        }

        _activity?.Dispose();
        _ended.TrySetResult();
    }

    private async Task HangUpCallerAsync()
    {
        Task? pending;
        lock (_writeGate)
        {
            if (_outputClosed || _output is null)
            {
                return;
            }

            _outputClosed = true;
            pending = _pendingFlush;
        }

        try
        {
            if (pending is not null)
            {
                await pending.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }

            AudioSocketFrameWriter.WriteHangup(_output);
            await _output.FlushAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);

            // The output is not completed here: that closes the socket at once, and a socket closed with caller audio
            // still unread is reset, and a reset can destroy the 0x00 before Asterisk has read it (the channel is then
            // hung up instead of the dialplan going on). The connection closes once Asterisk has closed its side (it
            // does on 0x00) or the read loop gives up 2 s later (EndAsync).
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            // Asterisk is not reading or already gone; the connection is torn down when the handler returns.
        }
    }

    private async Task CloseGatewayAsync(SessionEndedBy endedBy, string reason)
    {
        try
        {
            if (reason == "gateway-failed")
            {
                _gateway.Abort();
                return;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (_gateway.State == WebSocketState.Open && endedBy != SessionEndedBy.Gateway)
            {
                await SendToGatewayAsync(Event("stop"), WebSocketMessageType.Text).AsTask().WaitAsync(timeout.Token).ConfigureAwait(false);
            }

            if (_gateway.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _sendLock.WaitAsync(timeout.Token).ConfigureAwait(false);
                try
                {
                    await _gateway.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token).ConfigureAwait(false);
                }
                finally
                {
                    _sendLock.Release();
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            _gateway.Abort();
        }
    }

    private async Task PublishEndedAsync(bool wasLive)
    {
        var liveAt = Interlocked.Read(ref _liveAt);
        var ended = new AiSessionEnded
        {
            CallId = CallId,
            AsteriskId = AsteriskId,
            SessionId = SessionId,
            EndedBy = _endedBy,
            Reason = _reason,
            Duration = Stopwatch.GetElapsedTime(wasLive && liveAt != 0 ? liveAt : _createdAt),
            FramesToGateway = FramesToGateway,
            FramesToCaller = FramesToCaller,
            BytesToGateway = Interlocked.Read(ref _bytesToGateway),
            BytesToCaller = Interlocked.Read(ref _bytesToCaller),
            Underruns = Underruns,
            FramesTrimmed = _jitter.TrimmedFrames,
            LateTicks = LateTicks,
            MaxLatenessMs = MaxLatenessMs,
            RelayInstance = _services.Options.Instance,
            EndedAt = DateTimeOffset.UtcNow,
        };

        // Published under the media-session span, so the event belongs to the call's trace.
        var previous = Activity.Current;
        Activity.Current = _activity;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _services.Bus.Publish(ended, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            MediaRelayLog.PublishEndedFailed(_services.Logger, e, CallId, SessionId);
        }
        finally
        {
            Activity.Current = previous;
        }
    }
}
