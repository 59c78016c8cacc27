using System.Threading.Channels;

namespace AstraPbx.Simulators.Gateway;

/// <summary>The output side of a stock Pipecat bot (PROTOCOLS.md 2, last paragraph): utterances are cut into 40 ms
/// chunks sent one per 40 ms on an absolute schedule, the first at once, never bursting to catch up (a late send
/// moves the schedule, as Pipecat's websocket output transport does). An interruption drops the utterance in progress
/// and everything queued; an end waits for the audio queued before it, then closes.
/// <para>Every chunk carries the interruption generation it was queued in; the session sends it only if no
/// interruption came since, under the same lock as the <c>clear</c>, so no audio of an interrupted utterance can
/// follow its <c>clear</c> on the wire.</para></summary>
internal sealed class PacedSpeaker
{
    /// <summary>Pipecat's default output chunk: four 10 ms chunks.</summary>
    public static readonly TimeSpan Chunk = TimeSpan.FromMilliseconds(40);

    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TimeProvider _time;
    private readonly int _chunkBytes;
    private CancellationTokenSource _interrupt = new();
    private int _generation;
    private long _chunksSent;
    private long _bytesSent;
    private volatile bool _speaking;

    /// <param name="time">The clock the schedule runs on.</param>
    /// <param name="chunkBytes">PCM bytes in 40 ms at the session's rate.</param>
    public PacedSpeaker(TimeProvider time, int chunkBytes) => (_time, _chunkBytes) = (time, chunkBytes);

    /// <summary>The current interruption generation: a chunk of an older one is not sent.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>True from an utterance's first chunk until its last is sent or it is interrupted.</summary>
    public bool Speaking => _speaking;

    public long ChunksSent => Interlocked.Read(ref _chunksSent);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Queues an utterance; the task is true once its last chunk is sent, false if it was interrupted or the
    /// session closed first.</summary>
    public Task<bool> Speak(ReadOnlyMemory<byte> pcm)
    {
        var item = new Item(pcm, Generation, End: false);
        if (!_queue.Writer.TryWrite(item))
        {
            item.Done.TrySetResult(false);
        }

        return item.Done.Task;
    }

    /// <summary>Queues the end (Pipecat's <c>EndFrame</c>): after the audio queued before it, the session closes.
    /// The task completes once the close is sent; false if the session closed first.</summary>
    public Task<bool> End()
    {
        var item = new Item(ReadOnlyMemory<byte>.Empty, Generation, End: true);
        if (!_queue.Writer.TryWrite(item))
        {
            item.Done.TrySetResult(false);
        }

        return item.Done.Task;
    }

    /// <summary>Drops the utterance in progress and the queued ones (a queued end stays). The caller sends
    /// <c>clear</c> after this.</summary>
    public void Interrupt()
    {
        Interlocked.Increment(ref _generation);
        // Not disposed: the speaker may be reading its token right now (a source without a timer holds nothing).
        Interlocked.Exchange(ref _interrupt, new CancellationTokenSource()).Cancel();
    }

    /// <summary>Sends the queue until the session stops. <paramref name="send"/> sends one chunk if its generation is
    /// still current (false when not, or when the socket is gone); <paramref name="close"/> closes the session.</summary>
    public async Task RunAsync(Func<ReadOnlyMemory<byte>, int, Task<bool>> send, Func<Task> close, CancellationToken stopping)
    {
        var next = _time.GetTimestamp();
        try
        {
            await foreach (var item in _queue.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                if (item.End)
                {
                    await close().ConfigureAwait(false);
                    item.Done.TrySetResult(true);
                    break;
                }

                if (item.Generation != Generation)
                {
                    item.Done.TrySetResult(false);
                    continue;
                }

                (var done, next) = await SpeakAsync(item, next, send, stopping).ConfigureAwait(false);
                item.Done.TrySetResult(done);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var left))
            {
                left.Done.TrySetResult(false);
            }
        }
    }

    /// <summary>One utterance, chunk by chunk at <see cref="Chunk"/> intervals from <paramref name="next"/> (or from
    /// now, when that has passed); returns whether it was all sent and the next chunk's due time.</summary>
    private async Task<(bool Done, long Next)> SpeakAsync(Item item, long next, Func<ReadOnlyMemory<byte>, int, Task<bool>> send,
        CancellationToken stopping)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Volatile.Read(ref _interrupt).Token, stopping);
        var interrupted = stop.Token;
        _speaking = true;
        try
        {
            for (var offset = 0; offset < item.Pcm.Length; offset += _chunkBytes)
            {
                if (_time.GetTimestamp() < next)
                {
                    await WaitUntilAsync(next, interrupted).ConfigureAwait(false);
                }
                else
                {
                    // No wait needed: late, or idle since the last utterance. Send now and count the schedule from
                    // here, never a burst to catch up.
                    next = _time.GetTimestamp();
                }

                var chunk = item.Pcm.Slice(offset, Math.Min(_chunkBytes, item.Pcm.Length - offset));
                if (!await send(chunk, item.Generation).ConfigureAwait(false))
                {
                    return (false, next);
                }

                Interlocked.Increment(ref _chunksSent);
                Interlocked.Add(ref _bytesSent, chunk.Length);
                next += (long)(Chunk.TotalSeconds * _time.TimestampFrequency);
            }

            return (true, next);
        }
        catch (OperationCanceledException)
        {
            return (false, next);
        }
        finally
        {
            _speaking = false;
        }
    }

    /// <summary>Waits until the clock reads <paramref name="due"/>. A timer is due a span after the clock's reading
    /// when it is made: if the clock moved while it was being made (a test advancing a fake clock, a stalled thread),
    /// it would fire that much late, so it is made again from the new reading.</summary>
    private async Task WaitUntilAsync(long due, CancellationToken cancel)
    {
        while (true)
        {
            var before = _time.GetTimestamp();
            var wait = _time.GetElapsedTime(before, due);
            if (wait <= TimeSpan.Zero)
            {
                return;
            }

            using var rearm = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            var delay = Task.Delay(wait, _time, rearm.Token);
            if (_time.GetElapsedTime(before) < TimeSpan.FromMilliseconds(1))
            {
                await delay.ConfigureAwait(false);
                continue;
            }

            await rearm.CancelAsync().ConfigureAwait(false);
            cancel.ThrowIfCancellationRequested();
        }
    }

    private sealed record Item(ReadOnlyMemory<byte> Pcm, int Generation, bool End)
    {
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
