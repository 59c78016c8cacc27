namespace AstraPbx.AriIngress.Ari;

/// <summary>Where the events socket hands what it receives: every decoded event, in the order it arrived, and a
/// notice after each (re)connect.</summary>
public interface IAriEventHandler
{
    /// <summary>The events socket has just (re)opened. Asterisk drops events while no socket is open, so the handler
    /// catches up here; this runs alongside the events that arrive meanwhile.</summary>
    Task OnConnectedAsync(CancellationToken cancellationToken);

    /// <summary>One event, called on the socket's receive loop: must not block.
    /// <paramref name="receivedTimestamp"/> is the <see cref="System.Diagnostics.Stopwatch"/> timestamp of its arrival.</summary>
    void OnEvent(AriEvent evt, long receivedTimestamp);
}
