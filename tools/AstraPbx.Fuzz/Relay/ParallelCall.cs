using System.Buffers;
using System.Diagnostics;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;

namespace AstraPbx.Fuzz.Relay;

/// <summary>One ordinary call through the relay under fuzz: a caller playing a tone at real time into an echoing bot, so
/// the bot's audio (the echo) comes back through the jitter buffer and the playout clock. Every frame from the relay is
/// timed; at the end the call must still be up, with its audio flowing and no gap beyond a generous bound.</summary>
public sealed class ParallelCall : IAsyncDisposable
{
    private AudioSocketCaller? _caller;
    private long _first;
    private long _frames;
    private long _audible;
    private long _last;
    private long _maxGap;

    private readonly RelayUnderFuzz _relay;

    private ParallelCall(RelayUnderFuzz relay, Guid sessionId) => (_relay, SessionId) = (relay, sessionId);

    public Guid SessionId { get; }

    /// <summary>Prepares a session to <paramref name="echo"/> (an echoing <see cref="FakeGateway"/>) and dials it.</summary>
    public static async Task<ParallelCall> StartAsync(RelayUnderFuzz relay, FakeGateway echo)
    {
        var call = new ParallelCall(relay, Guid.NewGuid());
        var prepared = await relay.Preparer.PrepareAsync(FuzzRequest.For("parallel-call", call.SessionId, echo.Url, MediaMode.AstraPbxBinary), CancellationToken.None).ConfigureAwait(false);
        if (prepared.Failed is { } failed)
        {
            throw new InvalidOperationException($"the parallel call was not prepared: {failed.Reason} {failed.Detail}");
        }

        call._caller = await AudioSocketCaller.DialAsync(relay.AudioSocket.Address.ToString(), relay.AudioSocket.Port, call.SessionId,
            new CallerOptions { Source = new ToneSource(), RecordReceived = false, OnFrame = call.OnFrame }).ConfigureAwait(false);
        return call;
    }

    /// <summary>Hangs up and tells how the call fared; the time since the last frame counts as a gap too. The frames due
    /// are counted from the first one received: the prepare and the dial before it are not the relay's cadence (on a
    /// loaded machine they took 0.7 s of a 3 s run, and the call read as affected).</summary>
    public async Task<ParallelCallResult> StopAsync(double maxGapBoundMs)
    {
        var first = Interlocked.Read(ref _first);
        var seconds = first == 0 ? 0 : Stopwatch.GetElapsedTime(first).TotalSeconds;
        var stillUp = !_caller!.Ended.IsCompleted;
        OnGap(Stopwatch.GetTimestamp());
        var ended = _relay.Logs.Ended(SessionId);
        var reason = ended.IsCompleted ? ended.Result : null;
        await _caller.HangUpAsync().ConfigureAwait(false);
        return new ParallelCallResult(seconds, Interlocked.Read(ref _frames), Interlocked.Read(ref _audible),
            Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _maxGap)).TotalMilliseconds, stillUp, maxGapBoundMs, reason);
    }

    private void OnFrame(AudioSocketKind kind, ReadOnlySequence<byte> payload, long timestamp)
    {
        if (!AudioSocketFormat.IsAudio(kind))
        {
            return;
        }

        Interlocked.CompareExchange(ref _first, timestamp, 0);
        OnGap(timestamp);
        Interlocked.Exchange(ref _last, timestamp);
        Interlocked.Increment(ref _frames);
        foreach (var segment in payload)
        {
            if (segment.Span.ContainsAnyExcept((byte)0))
            {
                Interlocked.Increment(ref _audible);
                return;
            }
        }
    }

    private void OnGap(long now)
    {
        var last = Interlocked.Read(ref _last);
        if (last != 0 && now - last > Interlocked.Read(ref _maxGap))
        {
            Interlocked.Exchange(ref _maxGap, now - last);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_caller is not null)
        {
            await _caller.DisposeAsync().ConfigureAwait(false);
        }
    }
}
