using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Audio.Codecs;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Caller;
using AstraPbx.MediaRelay.Capacity;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Sessions;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.ServiceDefaults.Warmup;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Warmup;

/// <summary>One synthetic session's per-frame path, in memory and on a loopback socket of its own: the
/// <see cref="GatewayConnector"/> connects to a WebSocket echo on 127.0.0.1 that this step opens, sends the handshake
/// and caller audio through a <see cref="GatewayLeg"/>, the echoed audio lands in a <see cref="JitterBuffer"/> and
/// <see cref="CallerPlayout"/> writes it as AudioSocket frames into a pipe that <see cref="AudioSocketFrameReader"/>
/// reads back. Then the Twilio codec, mu-law, the 8/16 kHz resampler and a 16 kHz jitter buffer in memory. Then a
/// <c>StartAiSession</c> prepared by a <see cref="SessionPreparer"/> of the step's own (its own registry, a publisher
/// that keeps nothing; the service's capacity monitor and endpoints) against a second echo, ended as never claimed: the
/// code between the consume and the reply (measured: the first call's prepare was about 30 ms slower than a warm one),
/// and a second one claimed by a caller of the step's own over a loopback socket and ticked by the service's playout
/// clock until the echo plays back (<see cref="ClaimOverLoopbackAsync"/>).
/// No session is registered with the service, nothing is published, no socket reaches anything but this step's own
/// listeners. The relay's metrics do not count the warm-up's sessions (a synthetic preparer), its spans are not exported.</summary>
internal sealed class RelayPathWarmup(
    GatewayConnector connector,
    CapacityMonitor capacity,
    RelayEndpoints endpoints,
    PlayoutClock clock,
    IOptions<RelayOptions> options,
    ILogger<RelayPathWarmup> logger,
    ILogger<SessionPreparer> preparerLogger,
    ILogger<AudioSocketConnectionHandler> handlerLogger) : IRepeatableWarmupStep
{
    private const int Frames = 8;
    private const string CallId = "warmup";

    public string Name => "relay-path";

    public Task RunAsync(CancellationToken cancellationToken) => PassAsync(preparerLogger, handlerLogger, cancellationToken);

    /// <summary>The repeated passes do not log their sessions' prepare and end (the first pass did, once), and claim no
    /// session: a claim waits for the real clock's ticks until the echo plays back (tens of milliseconds), which in every
    /// pass of the settling rounds made them 2.5 s each, and what a claim compiles depends on how the ticks fall, so the
    /// rounds did not settle (measured: relay warm-up 7.9 s -> 13.9 s, unsettled; the first pass's claim alone leaves the
    /// caller path compiled).</summary>
    public Task RepeatAsync(int passes, CancellationToken cancellationToken) =>
        WarmupPasses.RunAsync(passes, t => PassAsync(NullLogger<SessionPreparer>.Instance, null, t), cancellationToken);

    private async Task PassAsync(ILogger<SessionPreparer> sessionLogger, ILogger<AudioSocketConnectionHandler>? claimLogger, CancellationToken cancellationToken)
    {
        // Its media-session spans are recorded as a call's are, and not exported.
        using var traced = WarmupTracing.Begin(Name);
        await SessionOverLoopbackAsync(cancellationToken).ConfigureAwait(false);
        TwilioAndWideband();
        await PrepareOverLoopbackAsync(sessionLogger, claimLogger, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Prepares a session and ends it as never claimed; with <paramref name="claimLogger"/>, a second one that a
    /// caller claims.</summary>
    private async Task PrepareOverLoopbackAsync(ILogger<SessionPreparer> sessionLogger, ILogger<AudioSocketConnectionHandler>? claimLogger,
        CancellationToken cancellationToken)
    {
        var registry = new SessionRegistry(options);
        var preparer = new SessionPreparer(registry, capacity, connector, endpoints, new NoPublisher(), options, sessionLogger) { Synthetic = true };

        // One session ends as never claimed (the expiry's path); a second is claimed by a caller over a loopback socket.
        using (var echo = new LoopbackEcho())
        {
            var serving = echo.ServeOneAsync(cancellationToken);
            var session = await PrepareAsync(preparer, registry, echo, cancellationToken).ConfigureAwait(false);
            await session.EndAsync(EndReason.NotClaimed).ConfigureAwait(false);
            await session.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            await serving.ConfigureAwait(false);
        }

        // A claimed session waits for the clock's ticks: under a test's fake time they come only when the test advances
        // it, which no test does for a warm-up (the relay's suite hung in it), so there the claim is left out.
        if (claimLogger is null || !clock.InRealTime)
        {
            return;
        }

        using (var echo = new LoopbackEcho())
        {
            var serving = echo.ServeOneAsync(cancellationToken);
            var session = await PrepareAsync(preparer, registry, echo, cancellationToken).ConfigureAwait(false);
            await ClaimOverLoopbackAsync(registry, session, claimLogger, cancellationToken).ConfigureAwait(false);
            await serving.ConfigureAwait(false);
        }
    }

    private static async Task<RelaySession> PrepareAsync(SessionPreparer preparer, SessionRegistry registry, LoopbackEcho echo, CancellationToken cancellationToken)
    {
        var start = new StartAiSession { CallId = CallId, AsteriskId = CallId, SessionId = Guid.NewGuid(), GatewayUrl = echo.Url.ToString() };
        var result = await preparer.PrepareAsync(start, cancellationToken).ConfigureAwait(false);
        if (result.Ready is null || !registry.TryGet(start.SessionId, out var session) || session is null)
        {
            throw new InvalidOperationException("warm-up session not prepared: " + result.Failed?.Detail);
        }

        return session;
    }

    /// <summary>Asterisk's side of a session, on a loopback connection of the step's own: the admission handler (over the
    /// step's registry) claims the session and adds it to the service's playout clock, whose lanes then tick it as they
    /// tick a call (the caller's reads on the tick, the send pass, the playout, the drift corrector). The caller sends
    /// audio, waits until the bot's echo of it plays back, and hangs up (0x00). Measured: without it the first real
    /// session compiled about 160 methods, on its lane's thread (docs/benchmarks.md, "Issue 13, session 18").</summary>
    private async Task ClaimOverLoopbackAsync(SessionRegistry registry, RelaySession session, ILogger<AudioSocketConnectionHandler> claimLogger,
        CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var asterisk = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accepting = listener.AcceptAsync(timeout.Token);
        await asterisk.ConnectAsync(listener.LocalEndPoint!, timeout.Token).ConfigureAwait(false);
        var connection = new CallerConnection(await accepting.ConfigureAwait(false), options.Value.OwnSocketWaits);
        var handler = new AudioSocketConnectionHandler(registry, clock, options, claimLogger);
        await using (connection.ConfigureAwait(false))
        {
            var handling = handler.HandleAsync(connection);
            var frames = new ArrayBufferWriter<byte>();
            AudioSocketFrameWriter.WriteUuid(frames, session.SessionId);
            var tone = new byte[AudioSocketFormat.SlinFrameBytes];
            tone.AsSpan().Fill(0x10); // not silence: its echo is told apart from the playout's silence fill
            for (var i = 0; i < Frames; i++)
            {
                AudioSocketFrameWriter.Write(frames, AudioSocketKind.Slin, tone);
            }

            await asterisk.SendAsync(frames.WrittenMemory, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            await ReadUntilEchoPlayedAsync(asterisk, timeout.Token).ConfigureAwait(false);

            frames.ResetWrittenCount();
            AudioSocketFrameWriter.WriteHangup(frames);
            await asterisk.SendAsync(frames.WrittenMemory, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            asterisk.Shutdown(SocketShutdown.Send); // and closes, as Asterisk does after a hangup
            await handling.WaitAsync(timeout.Token).ConfigureAwait(false);
            await session.Completion.WaitAsync(timeout.Token).ConfigureAwait(false);
        }

        if (session.FramesToCaller == 0 || registry.TryGet(session.SessionId, out _))
        {
            throw new InvalidOperationException("warm-up caller session did not play and end");
        }
    }

    /// <summary>Reads the relay's paced frames until one carries the echoed audio.</summary>
    private static async Task ReadUntilEchoPlayedAsync(Socket asterisk, CancellationToken cancellationToken)
    {
        var header = new byte[3];
        var payload = new byte[AudioSocketFormat.SlinFrameBytes];
        while (true)
        {
            await ReceiveExactlyAsync(asterisk, header, cancellationToken).ConfigureAwait(false);
            var length = (header[1] << 8) | header[2];
            if (header[0] != (byte)AudioSocketKind.Slin || length != payload.Length)
            {
                throw new InvalidOperationException($"warm-up caller got frame kind 0x{header[0]:x2} of {length} bytes");
            }

            await ReceiveExactlyAsync(asterisk, payload, cancellationToken).ConfigureAwait(false);
            if (payload.AsSpan().ContainsAnyExcept((byte)0))
            {
                return;
            }
        }
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var count = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (count == 0)
            {
                throw new InvalidOperationException("warm-up caller connection closed by the relay");
            }

            buffer = buffer[count..];
        }
    }

    /// <summary>Where the warm-up session's <c>AiSessionEnded</c> goes: nowhere.</summary>
    private sealed class NoPublisher : IOutboundPublisher
    {
        public int Pending => 0;

        public bool Enqueue<T>(T message, string callId)
            where T : class => true;
    }

    private async Task SessionOverLoopbackAsync(CancellationToken cancellationToken)
    {
        var relay = options.Value;
        using var echo = new LoopbackEcho();
        var serving = echo.ServeOneAsync(cancellationToken);
        var start = new StartAiSession { CallId = CallId, AsteriskId = CallId, SessionId = Guid.Empty, GatewayUrl = echo.Url.ToString() };
        var control = new Control();
        using var connection = await connector.ConnectAsync(echo.Url, cancellationToken).ConfigureAwait(false);
        var socket = connection.Own;
        await socket.SendAsync(GatewayHandshake.Connected(), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        await socket.SendAsync(GatewayHandshake.Start(start), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);

        var frameBytes = AudioSocketFormat.SlinFrameBytes;
        var codec = GatewayMediaCodec.Create(MediaMode.AstraPbxBinary, GatewayHandshake.StreamSid(CallId), frameBytes * 4, GatewayLimits.From(relay));
        var jitter = new JitterBuffer(relay.JitterTargetMs, relay.JitterCapMs);
        var leg = new GatewayLeg(socket, codec, jitter, control, relay, logger, connection.Transport);
        var playout = new CallerPlayout(AudioSocketKind.Slin, jitter, leg, control, logger);
        var pipe = new Pipe();
        playout.Attach(pipe.Writer);
        leg.Start();

        var pcm = new byte[frameBytes];
        for (var i = 0; i < Frames; i++)
        {
            await leg.SendAudioAsync(pcm).ConfigureAwait(false);
        }

        await leg.SendDtmfAsync('5').ConfigureAwait(false);
        await echo.Echoed.WaitAsync(cancellationToken).ConfigureAwait(false);
        for (var tick = 0; tick < Frames; tick++)
        {
            playout.OnTick(tick, 0, 0);
        }

        // As a real session: it ends first, then its legs close (the echo's close then fails nothing, logs nothing).
        await control.EndAsync(EndReason.CallerHangup).ConfigureAwait(false);
        await leg.CloseAsync(failed: false, sendStop: true).ConfigureAwait(false);
        await serving.ConfigureAwait(false);
        await playout.HangUpAsync().ConfigureAwait(false);
        await pipe.Writer.CompleteAsync().ConfigureAwait(false);

        var frames = 0;
        while (true)
        {
            var read = await pipe.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            while (AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed))
            {
                frames++;
                buffer = buffer.Slice(consumed);
                _ = frame.Kind;
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        await pipe.Reader.CompleteAsync().ConfigureAwait(false);
        if (frames == 0)
        {
            throw new InvalidOperationException("warm-up playout wrote no AudioSocket frame");
        }
    }

    private static void TwilioAndWideband()
    {
        var pcm = new byte[AudioSocketFormat.SlinFrameBytes];
        var twilio = GatewayMediaCodec.Create(MediaMode.Twilio, GatewayHandshake.StreamSid(CallId), pcm.Length * 4);
        var text = twilio.EncodeAudio(pcm);
        var decoded = new byte[pcm.Length * 4];
        twilio.DecodeText(text.Span, decoded);
        twilio.DecodeText("""{"event":"mark","mark":{"name":"w"}}"""u8, decoded);
        twilio.DecodeText("""{"event":"clear","streamSid":"asterisk_warmup"}"""u8, decoded);
        _ = twilio.EncodeMark("w");
        _ = twilio.EncodeStop();

        var ulaw = new byte[pcm.Length / 2];
        MuLaw.EncodePcm16(pcm, ulaw);
        MuLaw.DecodeToPcm16(ulaw, pcm);

        // 16 kHz: the caller's slin16 frames, resampled both ways, through a wideband jitter buffer.
        var wide = new byte[Resampler.OutputLength(pcm.Length, 8000, 16000)];
        Resampler.Resample(pcm, 8000, wide, 16000);
        Resampler.Resample(wide, 16000, pcm, 8000);
        var jitter = new JitterBuffer(40, 1000, sampleRate: 16000);
        var writer = new ArrayBufferWriter<byte>();
        AudioSocketFrameWriter.WriteUuid(writer, Guid.Empty);
        for (var i = 0; i < Frames; i++)
        {
            jitter.Write(wide);
            AudioSocketFrameWriter.Write(writer, AudioSocketKind.Slin16, wide);
        }

        jitter.AddMark("w");
        var frame = new byte[jitter.FrameBytes];
        var sequence = new ReadOnlySequence<byte>(writer.WrittenMemory);
        while (AudioSocketFrameReader.TryRead(sequence, out var read, out var consumed))
        {
            if (read.Kind == AudioSocketKind.Uuid)
            {
                AudioSocketFrameReader.TryReadUuid(read.Payload, out _);
            }

            jitter.ReadFrame(frame);
            jitter.TryTakeDueMark(out _);
            sequence = sequence.Slice(consumed);
        }

        jitter.RequestClear();
        jitter.ReadFrame(frame);
    }

    /// <summary>The session the legs report to: nothing to end, nobody to tell.</summary>
    private sealed class Control : ISessionControl
    {
        public string CallId => RelayPathWarmup.CallId;

        public Guid SessionId => Guid.Empty;

        public bool IsEnded { get; private set; }

        public Task EndAsync(EndReason reason)
        {
            IsEnded = true;
            return Task.CompletedTask;
        }
    }

    /// <summary>A one-connection WebSocket server on 127.0.0.1 that echoes binary messages and closes when asked.</summary>
    private sealed class LoopbackEcho : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly TaskCompletionSource _echoed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LoopbackEcho()
        {
            // HttpListener cannot take port 0: borrow a free port from the kernel.
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/warmup/");
            _listener.Start();
            Url = new Uri($"ws://127.0.0.1:{port}/warmup/");
        }

        public Uri Url { get; }

        /// <summary>Completes once <see cref="Frames"/> binary messages went back.</summary>
        public Task Echoed => _echoed.Task;

        public async Task ServeOneAsync(CancellationToken cancellationToken)
        {
            var context = await _listener.GetContextAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            var accepted = await context.AcceptWebSocketAsync(null).ConfigureAwait(false);
            using var socket = accepted.WebSocket;
            var buffer = new byte[4096];
            var echoed = 0;
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", cancellationToken).ConfigureAwait(false);
                    return;
                }

                if (received.MessageType == WebSocketMessageType.Binary)
                {
                    await socket.SendAsync(buffer.AsMemory(0, received.Count), WebSocketMessageType.Binary, received.EndOfMessage, cancellationToken).ConfigureAwait(false);
                    if (received.EndOfMessage && ++echoed == Frames)
                    {
                        await socket.SendAsync(Encoding.UTF8.GetBytes("""{"event":"mark","mark":{"name":"w"}}"""), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
                        _echoed.TrySetResult();
                    }
                }
            }
        }

        public void Dispose() => _listener.Close();
    }
}
