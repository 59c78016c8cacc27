using AstraPbx.Audio.AudioSocket;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Sessions;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>An AudioSocket connection as the handler sees it: <see cref="CallerConnection"/> on a socket, or a test's or the
/// fuzzer's in-memory pipes.</summary>
public interface ICallerTransport
{
    string ConnectionId { get; }

    string? Remote { get; }

    /// <summary>The socket, when there is one (socket options).</summary>
    Socket? Socket { get; }

    PipeReader Input { get; }

    PipeWriter Output { get; }

    /// <summary>Resets the connection (RST: no 0x00, no FIN); the input's pending read then fails.</summary>
    void Reset();

    /// <summary>The session is ticked: its tick reads from now on (<see cref="Poll"/>).</summary>
    void StartTicking();

    /// <summary>The session's playout tick.</summary>
    void Poll();

    /// <summary>The session ends: reads no longer wait for ticks.</summary>
    void StopTicking();
}

/// <summary>The AudioSocket admission path (connections come from <see cref="AudioSocketListener"/>). Admission: the first
/// frame must be a UUID within <see cref="RelayOptions.UuidWait"/>, naming a pending session, once (AudioSocket has no
/// authentication, PROTOCOLS.md 1). Anything else closes only this connection, with a logged reason. A claimed session
/// is ticked by the shared playout clock from here until its end starts, and its tick reads the connection.</summary>
public sealed class AudioSocketConnectionHandler(
    SessionRegistry registry,
    PlayoutClock clock,
    IOptions<RelayOptions> options,
    ILogger<AudioSocketConnectionHandler> logger)
{
    public async Task HandleAsync(ICallerTransport connection)
    {
        var input = connection.Input;
        var remote = connection.Remote;
        using var uuidWait = new CancellationTokenSource(options.Value.UuidWait);
        Guid sessionId;
        try
        {
            var (id, refusal) = await ReadUuidAsync(input, uuidWait.Token).ConfigureAwait(false);
            if (refusal is not null)
            {
                Refuse(connection, remote, refusal, id);
                return;
            }

            sessionId = id;
        }
        catch (OperationCanceledException)
        {
            Refuse(connection, remote, "no-uuid-in-time", Guid.Empty);
            return;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Refuse(connection, remote, "reset-before-uuid", Guid.Empty);
            return;
        }

        switch (registry.TryClaim(sessionId, out var session))
        {
            case ClaimOutcome.Unknown:
                Refuse(connection, remote, "unknown-uuid", sessionId);
                return;
            case ClaimOutcome.AlreadyClaimed:
                Refuse(connection, remote, "uuid-already-used", sessionId);
                return;
            case ClaimOutcome.EndedBeforeClaim:
                Refuse(connection, remote, "session-ended-before-claim", sessionId);
                return;
        }

        MediaRelayLog.SessionClaimed(logger, session.CallId, sessionId, connection.ConnectionId, remote);
        CallerSocket.LimitUnacknowledged(connection.Socket, options.Value.CallerAckTimeout);
        if (options.Value.TickedCallerReads)
        {
            session.PollCallerWith(connection.Poll);
            connection.StartTicking();
        }

        clock.Add(session.Playout);
        using (session.Ending.Register(() =>
               {
                   clock.Remove(session.Playout);
                   connection.StopTicking();
               }))
        {
            // Our own reset fails the pending read with an error; the caller leg's read loop takes that as the end of
            // the connection (found by tools/AstraPbx.Fuzz).
            await session.RunCallerAsync(input, connection.Output, connection.Reset).ConfigureAwait(false);
        }
    }

    /// <summary>Refuses a connection with a reset, not a graceful close: under <c>TryExec</c> a FIN counts as
    /// <c>SUCCESS</c> and the generated context would hang the caller up, while a reset sends the caller to the fallback
    /// (PROTOCOLS.md 1). A UUID this relay does not know (it restarted, or the session expired) is a failed AI leg.</summary>
    private void Refuse(ICallerTransport connection, string? remote, string reason, Guid sessionId)
    {
        RelayTelemetry.AdmissionsRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));
        MediaRelayLog.AdmissionRefused(logger, connection.ConnectionId, remote, reason, sessionId);
        connection.Reset();
    }

    /// <summary>Reads the first frame; refuses a non-UUID kind as soon as its header is in, without waiting for a payload.</summary>
    private static async Task<(Guid Id, string? Refusal)> ReadUuidAsync(System.IO.Pipelines.PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= 1 && buffer.FirstSpan[0] != (byte)AudioSocketKind.Uuid)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                return (Guid.Empty, "first-frame-not-uuid");
            }

            var length = AudioSocketFrameReader.PeekLength(buffer);
            if (length > 16)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                return (Guid.Empty, "bad-uuid-frame");
            }

            if (AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed))
            {
                var ok = AudioSocketFrameReader.TryReadUuid(frame.Payload, out var id);
                input.AdvanceTo(consumed);
                return ok ? (id, null) : (Guid.Empty, "bad-uuid-frame");
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return (Guid.Empty, buffer.IsEmpty ? "closed-before-uuid" : "truncated-uuid-frame");
            }
        }
    }
}
