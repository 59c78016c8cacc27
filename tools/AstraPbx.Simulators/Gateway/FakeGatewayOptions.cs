using System.Buffers;

namespace AstraPbx.Simulators.Gateway;

/// <summary>What a <see cref="FakeGateway"/> does with each session once the handshake is in.</summary>
public enum GatewayBehavior
{
    /// <summary>Sends every audio frame it receives straight back.</summary>
    Echo,

    /// <summary>Receives and records, sends nothing by itself.</summary>
    Silent,

    /// <summary>Plays <see cref="FakeGatewayOptions.PlayPcm"/> faster than real time, then echoes.</summary>
    PlayThenEcho,

    /// <summary>For the demo: plays a short generated prompt (<see cref="GatewayAudio.DemoPrompt"/>, or
    /// <see cref="FakeGatewayOptions.PlayPcm"/> when set), then echoes.</summary>
    DemoBot,

    /// <summary>Acts as a stock Pipecat bot does (PROTOCOLS.md 2, last paragraph): sends audio only when told
    /// (<see cref="GatewaySession.SpeakAsync"/>; <see cref="FakeGatewayOptions.PlayPcm"/> as a greeting) in 40 ms
    /// chunks paced at real time, in the session's mode and rate; sends <c>clear</c> on an interruption
    /// (<see cref="GatewaySession.InterruptAsync"/>); never sends <c>mark</c> or <c>stop</c>; ends a call by closing
    /// with 1000 once its queued audio is sent (<see cref="GatewaySession.EndAsync"/>, Pipecat's <c>EndFrame</c>);
    /// ignores incoming <c>mark</c>, <c>stop</c> and <c>connected</c>; records the caller's audio, DTMF, <c>stop</c>
    /// and the close.</summary>
    PipecatLike,
}

/// <summary>How a <see cref="FakeGateway"/> behaves.</summary>
public sealed class FakeGatewayOptions
{
    /// <summary>What each session does after the handshake. Default <see cref="GatewayBehavior.Echo"/>.</summary>
    public GatewayBehavior Behavior { get; init; } = GatewayBehavior.Echo;

    /// <summary>PCM 16-bit little-endian, 8 kHz mono, sent in 20 ms chunks as fast as the socket takes them right
    /// after the handshake (any behaviour; <see cref="GatewayBehavior.PlayThenEcho"/> echoes only once it is sent;
    /// <see cref="GatewayBehavior.PipecatLike"/> speaks it paced instead, at the session's rate).</summary>
    public byte[]? PlayPcm { get; init; }

    /// <summary>The clock <see cref="GatewayBehavior.PipecatLike"/> paces its audio on. Default the system clock; a
    /// test passes the relay's fake clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary><see cref="GatewayBehavior.PipecatLike"/> only: caller speech (a frame above about -40 dBFS) arriving
    /// while the bot speaks interrupts it, as Pipecat's voice activity detection does. Off by default.</summary>
    public bool InterruptOnCallerSpeech { get; init; }

    /// <summary>Binary mode, echoing: called with each caller message just before it is echoed, and may change it (the
    /// load tool stamps in it when the bot got it, to tell the uplink's delay from the downlink's).</summary>
    public SpanAction<byte, object?>? BeforeEcho { get; init; }

    /// <summary>Run each session's reads and sends on the socket engine's thread that completed the read, with no hop
    /// through the thread pool (Kestrel's <c>UnsafePreferInlineScheduling</c>). With the process's socket completions
    /// inline too (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, set before its first socket) every echo runs on
    /// the engine's epoll threads, which the load tool raises to nice -20: a bot that answers on time however busy the
    /// rest of its core is. Only for a gateway whose sessions never block (the echo). Off by default.</summary>
    public bool InlineTransport { get; init; }

    /// <summary>Refuse the WebSocket upgrade with this HTTP status (e.g. 403).</summary>
    public int? RejectWithStatus { get; init; }

    /// <summary>Accept the TCP connection and read the HTTP request but never answer the upgrade.</summary>
    public bool StallHandshake { get; init; }

    /// <summary>Read and validate the two handshake frames, then close the WebSocket (1000).</summary>
    public bool CloseAfterHandshake { get; init; }

    /// <summary>Accept the seed document's <c>start</c> frame, which lacks <c>from</c>, <c>to</c>, <c>direction</c> and
    /// the <c>org_id</c>/<c>endpoint</c> custom parameters: the load tool's benchmark peer (a seed-style Node.js relay)
    /// sends only that. Every other check stays. Off by default: AstraPbx's relay is held to the full handshake.</summary>
    public bool AcceptSeedHandshake { get; init; }
}
