using System.Collections.Concurrent;
using System.Diagnostics;
using AstraPbx.Simulators.AudioSocket;

namespace AstraPbx.Simulators.Ari;

/// <summary>One channel of the simulated Asterisk, from <c>StasisStart</c> to <c>ChannelDestroyed</c>. Tasks complete as
/// the ingress acts on it (answer, continue, AudioSocket dialled) and when it ends. State changes happen under
/// <c>lock(this)</c> so that its events go out in order.</summary>
public sealed class SimulatedCall
{
    private readonly AsteriskSimulator _asterisk;
    private readonly TaskCompletionSource<DateTimeOffset> _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<DialplanTarget> _continued = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<AudioSocketCaller> _audioSocket = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<SimulatedCallEnd> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<AudioSocketResult> _audioSocketReturned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<SimulatedEvent> _events = new();
    private readonly List<Continuation> _continuations = [];
    private readonly List<(Func<DialplanTarget, bool> Match, TaskCompletionSource<Continuation> Done)> _continuationWaiters = [];
    private int _stasisEntries = 1;
    private int _continueRequests;
    private int _hangupRequests;

    internal SimulatedCall(AsteriskSimulator asterisk, string channelId, SimulatedCallOptions options)
    {
        _asterisk = asterisk;
        ChannelId = channelId;
        Options = options;
        Name = options.ChannelName ?? $"PJSIP/{options.CallerNumber}-{channelId.Replace(".", "", StringComparison.Ordinal)[^8..]}";
        CreationTime = AriJson.Timestamp(DateTimeOffset.UtcNow);
        foreach (var (key, value) in options.Variables)
        {
            Variables[key] = value;
        }

        Context = options.Context;
        Extension = options.Extension;
        Priority = 3;
        AppName = "Stasis";
        AppData = options.StasisArgs.Length == 0 ? options.Application : options.Application + "," + options.StasisArgs;
        InStasis = true;
    }

    /// <summary>The channel id (<c>channel.id</c>), the call's id on the bus.</summary>
    public string ChannelId { get; }

    public string Name { get; }

    public SimulatedCallOptions Options { get; }

    public string Application => Options.Application;

    /// <summary><c>Ring</c> until answered, then <c>Up</c>.</summary>
    public string State { get; internal set; } = "Ring";

    public bool InStasis { get; internal set; }

    /// <summary>The application subscribed to the channel (events keep flowing after it leaves Stasis).</summary>
    public bool Subscribed { get; internal set; }

    public bool Destroyed { get; internal set; }

    public string Context { get; internal set; }

    public string Extension { get; internal set; }

    public int Priority { get; internal set; }

    public string AppName { get; internal set; }

    public string AppData { get; internal set; }

    internal string CreationTime { get; }

    /// <summary>The channel's variables: the dialplan's plus whatever ARI set.</summary>
    public ConcurrentDictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);

    /// <summary>Completes with the time the first <c>answer</c> request arrived.</summary>
    public Task<DateTimeOffset> Answered => _answered.Task;

    /// <summary>Completes when the first <c>continue</c> moved the channel out of Stasis (later ones: <see cref="Continuations"/>).</summary>
    public Task<DialplanTarget> Continued => _continued.Task;

    /// <summary>Every <c>continue</c> so far, in order: an AI call whose AudioSocket failed has two, into the AudioSocket
    /// context and then, after it re-entered Stasis with <c>ai_failed</c>, to the fallback.</summary>
    public IReadOnlyList<Continuation> Continuations
    {
        get
        {
            lock (_continuations)
            {
                return [.. _continuations];
            }
        }
    }

    /// <summary>Times the channel entered Stasis (1 at the start, one more per re-entry such as <c>ai_failed</c>).</summary>
    public int StasisEntries => Volatile.Read(ref _stasisEntries);

    /// <summary>Completes when <c>TryExec(AudioSocket(...))</c> returned (not when the caller hung up during it).</summary>
    public Task<AudioSocketResult> AudioSocketReturned => _audioSocketReturned.Task;

    /// <summary>Completes once AudioSocket connected to <c>AUDIOSOCKET_SERVICE</c> and sent the UUID.</summary>
    public Task<AudioSocketCaller> AudioSocketDialled => _audioSocket.Task;

    /// <summary>The AudioSocket connection once dialled: what the caller heard is its <c>Received</c> frames.</summary>
    public AudioSocketCaller? AudioSocket { get; private set; }

    /// <summary>Completes when the channel is destroyed.</summary>
    public Task<SimulatedCallEnd> Ended => _ended.Task;

    /// <summary>Every event produced for this channel, in order, delivered or not.</summary>
    public IReadOnlyCollection<SimulatedEvent> Events => _events;

    /// <summary><see cref="Stopwatch.GetTimestamp"/> when StasisStart was written to the events sockets (0 if never).</summary>
    public long StasisStartSentTimestamp { get; internal set; }

    /// <summary><see cref="Stopwatch.GetTimestamp"/> when the first answer request arrived (0 if never).</summary>
    public long AnswerReceivedTimestamp { get; internal set; }

    /// <summary><see cref="Stopwatch.GetTimestamp"/> when the first <c>continue</c> moved the channel out of Stasis (0 if never).</summary>
    public long ContinuedTimestamp { get; private set; }

    /// <summary><c>continue</c> requests received for this channel, including refused ones (the fault suite checks
    /// that each Stasis entry gets exactly one command).</summary>
    public int ContinueRequests => Volatile.Read(ref _continueRequests);

    /// <summary><c>DELETE /channels/{id}</c> requests received for this channel, including refused ones.</summary>
    public int HangupRequests => Volatile.Read(ref _hangupRequests);

    /// <summary>StasisStart sent to answer received; null until answered.</summary>
    public TimeSpan? TimeToAnswer => AnswerReceivedTimestamp == 0 || StasisStartSentTimestamp == 0
        ? null
        : Stopwatch.GetElapsedTime(StasisStartSentTimestamp, AnswerReceivedTimestamp);

    /// <summary>Completes with the first <c>continue</c> (past or future) to <paramref name="context"/> (and
    /// <paramref name="extension"/> when given); cancelled if the channel ends first.</summary>
    public Task<Continuation> ContinuedTo(string context, string? extension = null)
    {
        bool Match(DialplanTarget t) => t.Context == context && (extension is null || t.Extension == extension);
        lock (_continuations)
        {
            foreach (var c in _continuations)
            {
                if (Match(c.Target))
                {
                    return Task.FromResult(c);
                }
            }

            var done = new TaskCompletionSource<Continuation>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_ended.Task.IsCompleted)
            {
                done.TrySetCanceled();
            }
            else
            {
                _continuationWaiters.Add((Match, done));
            }

            return done.Task;
        }
    }

    /// <summary>The caller hangs up with Q.850 <paramref name="cause"/>: AudioSocket (if any) is closed without a 0x00
    /// frame, then <c>ChannelHangupRequest</c>, <c>StasisEnd</c> (if in Stasis) and <c>ChannelDestroyed</c> go out.</summary>
    public async Task HangUpAsync(int cause = 16)
    {
        if (AudioSocket is { } audio)
        {
            await audio.HangUpAsync().ConfigureAwait(false);
        }

        _asterisk.EndCall(this, cause, SimulatedEndReason.CallerHungUp);
    }

    /// <summary>The caller presses a key: a DTMF frame on AudioSocket (if dialled) and <c>ChannelDtmfReceived</c>.</summary>
    public async Task SendDtmfAsync(char digit)
    {
        if (AudioSocket is { } audio)
        {
            await audio.SendDtmfAsync(digit).ConfigureAwait(false);
        }

        _asterisk.EmitDtmf(this, digit);
    }

    internal void Record(SimulatedEvent evt) => _events.Enqueue(evt);

    internal void SetAnswered(DateTimeOffset at) => _answered.TrySetResult(at);

    internal void SetContinued(DialplanTarget target)
    {
        var now = Stopwatch.GetTimestamp();
        if (ContinuedTimestamp == 0)
        {
            ContinuedTimestamp = now;
        }

        var continuation = new Continuation(target, now);
        lock (_continuations)
        {
            _continuations.Add(continuation);
            for (var i = _continuationWaiters.Count - 1; i >= 0; i--)
            {
                if (_continuationWaiters[i].Match(target))
                {
                    _continuationWaiters[i].Done.TrySetResult(continuation);
                    _continuationWaiters.RemoveAt(i);
                }
            }
        }

        _continued.TrySetResult(target);
    }

    internal void SetAudioSocketReturned(AudioSocketResult result) => _audioSocketReturned.TrySetResult(result);

    internal void CountStasisEntry() => Interlocked.Increment(ref _stasisEntries);

    internal void CountContinueRequest() => Interlocked.Increment(ref _continueRequests);

    internal void CountHangupRequest() => Interlocked.Increment(ref _hangupRequests);

    internal void SetAudioSocket(AudioSocketCaller caller)
    {
        AudioSocket = caller;
        _audioSocket.TrySetResult(caller);
    }

    internal void SetAudioSocketFailed(Exception reason)
    {
        _audioSocket.TrySetException(reason);

        // Nobody may await it; keep the failure from surfacing as an unobserved task exception.
        _ = _audioSocket.Task.Exception;
    }

    internal void SetEnded(SimulatedCallEnd end)
    {
        _audioSocket.TrySetCanceled();
        _answered.TrySetCanceled();
        _continued.TrySetCanceled();
        _audioSocketReturned.TrySetCanceled();
        lock (_continuations)
        {
            _ended.TrySetResult(end);
            foreach (var (_, done) in _continuationWaiters)
            {
                done.TrySetCanceled();
            }

            _continuationWaiters.Clear();
        }
    }
}
