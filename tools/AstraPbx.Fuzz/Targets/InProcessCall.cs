using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.Fuzz.Inputs;
using AstraPbx.Fuzz.Running;
using AstraPbx.MediaRelay;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Media.Playout;
using AstraPbx.MediaRelay.Sessions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AstraPbx.Fuzz.Targets;

/// <summary>The relay's admission path and caller leg without sockets: the real <see cref="AudioSocketConnectionHandler"/>
/// on an <see cref="InMemoryConnection"/>, over a registry holding one pending <see cref="RelaySession"/> whose gateway
/// WebSocket is over a null stream (it takes every send and is never read, so the caller leg runs as with a bot that
/// says nothing). The
/// playout clock is never started: the fuzz ticks the session itself, between the chunks it sends.</summary>
internal sealed class InProcessCall
{
    private static readonly IOptions<RelayOptions> Options = Microsoft.Extensions.Options.Options.Create(new RelayOptions { InstanceName = "fuzz" });
    private static readonly PlayoutClock Clock = new(new ThreadPlayoutDriver(), Options, Microsoft.Extensions.Options.Options.Create(new AstraPbx.MediaRelay.Capacity.CapacityOptions()), NullLogger<PlayoutClock>.Instance);

    /// <summary>The reasons bad or ended input from Asterisk may end a session with (all but <c>relay-error</c>, which
    /// means the read loop failed).</summary>
    private static readonly HashSet<string> CallerReasons =
    [
        "caller-closed", "caller-reset", "caller-hangup", "caller-error", "truncated-frame", "oversized-frame",
        "unsupported-audio-kind", "bad-audio-length", "bad-dtmf", "unexpected-uuid", "unknown-kind",
    ];

    private readonly InMemoryOutbound _outbound = new();
    private readonly ReasonLogger<AudioSocketConnectionHandler> _log = new();
    private readonly AudioSocketConnectionHandler _handler;
    private readonly InMemoryConnection _connection = new();
    private long _tick;

    public InProcessCall(Guid sessionId, MediaMode mode)
    {
        var registry = new SessionRegistry(Options);
        var request = new StartAiSession
        {
            CallId = "fuzz-call",
            AsteriskId = "fuzz",
            SessionId = sessionId,
            GatewayUrl = "ws://127.0.0.1:9/ws/fuzz",
            MediaMode = mode,
        };
        // A gateway that takes every send and is never read (the session's gateway loop is not started).
        var gateway = new GatewayWebSocket(new GatewayStream(Stream.Null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
        Session = new RelaySession(request, gateway, null, new SessionServices(_outbound, Options.Value, NullLogger.Instance));
        registry.TryAdd(Session);
        _handler = new AudioSocketConnectionHandler(registry, Clock, Options, _log);
    }

    public RelaySession Session { get; }

    /// <summary>Connects, sends <paramref name="bytes"/> in the given chunks (the session ticked <paramref name="ticks"/>
    /// times after each once it is live), ends the connection and waits for the handler to return.</summary>
    public async Task RunAsync(byte[] bytes, int[] chunks, StreamEnd end, int ticks, TimeSpan timeout)
    {
        var handling = _handler.HandleAsync(_connection);
        var at = 0;
        foreach (var size in chunks.Append(bytes.Length))
        {
            var length = Math.Min(size, bytes.Length - at);
            if (length > 0)
            {
                await _connection.SendAsync(bytes.AsMemory(at, length)).ConfigureAwait(false);
                at += length;
            }

            for (var i = 0; i < ticks && Session.IsLive; i++)
            {
                Session.Playout.OnTick(_tick++, 0, 0);
            }
        }

        _connection.End(end == StreamEnd.Reset);
        try
        {
            await handling.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new FuzzFailure($"the connection handler did not return within {timeout.TotalSeconds:0.#} s of the connection's end");
        }
    }

    /// <summary>Checks what the relay did with a connection whose first bytes were <paramref name="bytes"/>; returns the
    /// outcome: <c>refused:&lt;reason&gt;</c> or <c>ended:&lt;reason&gt;</c>.</summary>
    public string Verify(byte[] bytes, StreamEnd end)
    {
        var uuidFrame = AudioSocketInputs.Uuid(Session.SessionId);
        var exact = bytes.AsSpan().StartsWith(uuidFrame);
        var output = _connection.Received();
        if (_log.Errors > 0)
        {
            throw new FuzzFailure($"the connection handler logged {_log.Errors} errors");
        }

        if (Session.IsPending)
        {
            if (exact && end == StreamEnd.Close)
            {
                throw new FuzzFailure("the session's exact UUID frame came first, and the session was not claimed");
            }

            if (output.Length > 0)
            {
                throw new FuzzFailure($"a refused connection was sent {output.Length} bytes");
            }

            return "refused:" + (_log.LastReason ?? "?");
        }

        if (!exact)
        {
            throw new FuzzFailure("the session was claimed by a first frame that is not its UUID frame");
        }

        if (!Session.Completion.IsCompleted || _outbound.Ended.Count != 1 || !_outbound.Ended.TryPeek(out var ended))
        {
            throw new FuzzFailure($"the claimed session did not end once (completed {Session.Completion.IsCompleted}, {_outbound.Ended.Count} AiSessionEnded)");
        }

        if (!CallerReasons.Contains(ended.Reason))
        {
            throw new FuzzFailure($"input from Asterisk ended the session as '{ended.Reason}'");
        }

        CallerOutput.Verify(output, hungUp: ended.EndedBy != SessionEndedBy.Caller, ended.Reason);
        return "ended:" + ended.Reason;
    }
}
