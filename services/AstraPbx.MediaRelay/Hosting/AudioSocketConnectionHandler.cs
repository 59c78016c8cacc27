using AstraPbx.Audio.AudioSocket;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Sessions;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>The AudioSocket TCP listener (Kestrel, on its own endpoint). Admission: the first frame must be a UUID
/// within <see cref="RelayOptions.UuidWait"/>, naming a pending session, once (AudioSocket has no authentication,
/// PROTOCOLS.md 1). Anything else closes only this connection, with a logged reason. A claimed session is ticked by
/// the shared playout clock from here until its end starts.</summary>
public sealed class AudioSocketConnectionHandler(
    SessionRegistry registry,
    PlayoutClock clock,
    IOptions<RelayOptions> options,
    ILogger<AudioSocketConnectionHandler> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var remote = connection.RemoteEndPoint?.ToString();
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
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException)
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
        CallerSocket.LimitUnacknowledged(connection.Features.Get<IConnectionSocketFeature>()?.Socket, options.Value.CallerAckTimeout);
        clock.Add(session.Playout);
        using (session.Ending.Register(() => clock.Remove(session.Playout)))
        {
            // Our own reset fails Kestrel's pending receive with the socket's error (ECANCELED); the caller leg's read
            // loop takes that as the end of the connection (found by tools/AstraPbx.Fuzz).
            await session.RunCallerAsync(input, connection.Transport.Output, () => Reset(connection)).ConfigureAwait(false);
        }
    }

    /// <summary>Resets the connection (RST: no 0x00, no FIN) so that <c>TryExec(AudioSocket(...))</c> gives
    /// <c>TRYSTATUS=FAILED</c> and the dialplan falls back (PROTOCOLS.md 1). Kestrel's own abort shuts the socket down
    /// gracefully first (a FIN, which Asterisk takes as a hangup), so the socket is closed here with linger 0 before
    /// Kestrel tears the connection down.</summary>
    private void Reset(ConnectionContext connection)
    {
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (socket is null)
        {
            MediaRelayLog.NoSocketToReset(logger, connection.ConnectionId);
        }
        else
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already gone: Asterisk saw the connection end its own way.
            }
        }

        connection.Abort(new ConnectionAbortedException("AudioSocket reset: the dialplan falls back"));
    }

    /// <summary>Refuses a connection with a reset, not a graceful close: under <c>TryExec</c> a FIN counts as
    /// <c>SUCCESS</c> and the generated context would hang the caller up, while a reset sends the caller to the fallback
    /// (PROTOCOLS.md 1). A UUID this relay does not know (it restarted, or the session expired) is a failed AI leg.</summary>
    private void Refuse(ConnectionContext connection, string? remote, string reason, Guid sessionId)
    {
        RelayTelemetry.AdmissionsRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));
        MediaRelayLog.AdmissionRefused(logger, connection.ConnectionId, remote, reason, sessionId);
        Reset(connection);
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
