using System.Net.WebSockets;
using System.Threading.Channels;

namespace AstraPbx.Simulators.Ari;

/// <summary>One client of <c>/ari/events</c>: a queue written in order by one sender loop, and a receive loop that
/// answers pings and notices the client going away.</summary>
internal sealed class EventSocket(WebSocket socket, string application)
{
    private readonly Channel<byte[]> _queue = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Application { get; } = application;

    public Task Finished => _finished.Task;

    public void Enqueue(byte[] message) => _queue.Writer.TryWrite(message);

    public void Kill()
    {
        _queue.Writer.TryComplete();
        socket.Abort();
    }

    public async Task RunAsync(CancellationToken aborted)
    {
        try
        {
            var sending = SendAsync(aborted);
            var receiving = ReceiveAsync(aborted);
            await Task.WhenAny(sending, receiving).ConfigureAwait(false);
            socket.Abort();
            _queue.Writer.TryComplete();
            await Task.WhenAll(sending, receiving).ConfigureAwait(false);
        }
        finally
        {
            _finished.TrySetResult();
        }
    }

    private async Task SendAsync(CancellationToken aborted)
    {
        try
        {
            await foreach (var message in _queue.Reader.ReadAllAsync(aborted).ConfigureAwait(false))
            {
                await socket.SendAsync(message, WebSocketMessageType.Text, true, aborted).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }

    private async Task ReceiveAsync(CancellationToken aborted)
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), aborted).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
    }
}
