using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.WebSockets;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Caller;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay.Media;
using AstraPbx.ServiceDefaults.Telemetry;

namespace AstraPbx.MediaRelay.Sessions;

/// <summary>One AI call's lifecycle: pending from preparation on (the <see cref="GatewayLeg"/> is open and buffering a
/// greeting), live once Asterisk claims the UUID (the <see cref="CallerLeg"/> runs), ended once from whichever side,
/// then <c>AiSessionEnded</c>. Caller audio goes to the gateway as it arrives; bot audio goes through the jitter buffer
/// and out one 20 ms frame per shared clock tick (<see cref="CallerPlayout"/>). The session does not call its owners:
/// they watch <see cref="Ending"/>, <see cref="Closed"/> and <see cref="Completion"/>.</summary>
internal sealed class RelaySession : ISessionControl
{
    private const int Pending = 0;
    private const int Live = 1;
    private const int Ended = 2;

    private readonly SessionServices _services;
    private readonly JitterBuffer _jitter;
    private readonly GatewayLeg _gateway;
    private readonly CallerLeg _caller;
    private readonly Activity? _activity;
    private readonly CancellationTokenSource _ending = new();
    private readonly CancellationTokenSource _closed = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _createdAt = Stopwatch.GetTimestamp();

    private int _state = Pending;
    private int _endStarted;
    private int _resetRequested;
    private int _resetDone;
    private Action? _resetCaller;
    private long _liveAt;

    public RelaySession(StartAiSession request, GatewayWebSocket gateway, Activity? activity, SessionServices services, GatewayStream? transport = null)
    {
        SessionId = request.SessionId;
        CallId = request.CallId;
        AsteriskId = request.AsteriskId;
        Mode = request.MediaMode;
        Gateway = SecretRedactor.RedactUrl(request.GatewayUrl);
        _activity = activity;
        _services = services;
        var kind = AudioSocketFormat.KindForRate(request.CallerSampleRate) ?? AudioSocketKind.Slin;
        // The bot side runs at the gateway rate: the caller's own in binary mode (no resampling either way), 8 kHz in
        // Twilio mode. The jitter buffer, its marks and drift correction count bytes at that rate.
        GatewayRate = GatewayMediaCodec.GatewayRate(request.MediaMode, AudioSocketFormat.SampleRate(kind));
        _jitter = new JitterBuffer(services.Options.JitterTargetMs, services.Options.JitterCapMs, services.Options.MaxPendingMarks, GatewayRate);
        var codec = GatewayMediaCodec.Create(request.MediaMode, GatewayHandshake.StreamSid(request.CallId), CallerLeg.MaxPcmToGateway(GatewayRate),
            GatewayLimits.From(services.Options));
        _gateway = new GatewayLeg(gateway, codec, _jitter, this, services.Options, services.Logger, transport);
        _caller = new CallerLeg(new CallerPlayout(kind, _jitter, _gateway, this, services.Logger), _gateway, this, services.Logger,
            services.Options.UplinkFramesPerMessage);
        if (_gateway.Ticked)
        {
            _caller.Playout.PollBot = _gateway.PollTick;
        }
    }

    public Guid SessionId { get; }

    public string CallId { get; }

    public string AsteriskId { get; }

    public MediaMode Mode { get; }

    /// <summary>The PCM rate toward the bot, in Hz (<see cref="GatewayMediaCodec.GatewayRate"/>).</summary>
    public int GatewayRate { get; }

    /// <summary>The gateway URL with its query string redacted.</summary>
    public string Gateway { get; }

    public bool IsPending => Volatile.Read(ref _state) == Pending;

    public bool IsLive => Volatile.Read(ref _state) == Live;

    public bool IsEnded => Volatile.Read(ref _endStarted) != 0;

    /// <summary>True once Asterisk claimed the session (it may have ended since).</summary>
    public bool WasClaimed => Interlocked.Read(ref _liveAt) != 0;

    /// <summary>Cancelled when the end starts, before the 0x00 and the gateway close: the clock stops ticking the
    /// session here. Callbacks run synchronously, on the ending thread.</summary>
    public CancellationToken Ending => _ending.Token;

    /// <summary>Cancelled once both legs are closed, just before <c>AiSessionEnded</c> is queued: the registry drops
    /// the session here, so whoever sees the event no longer finds the session listed, and its slot is free.</summary>
    public CancellationToken Closed => _closed.Token;

    /// <summary>Completes once the session has fully ended and <c>AiSessionEnded</c> was queued for publishing.</summary>
    public Task Completion => _ended.Task;

    /// <summary>What the shared playout clock ticks once Asterisk claimed the session.</summary>
    public IPlayoutTarget Playout => _caller.Playout;

    public TimeSpan Age => Stopwatch.GetElapsedTime(_createdAt);

    /// <summary>How long a frame Asterisk started has been waiting for its remaining bytes.</summary>
    public TimeSpan CallerStalled => _caller.Stalled;

    public long FramesToGateway => _caller.FramesToGateway;

    public long FramesToCaller => _caller.Playout.FramesToCaller;

    public long Underruns => _jitter.Underruns;

    public long LateTicks => _caller.Playout.LateTicks;

    public double MaxLatenessMs => _caller.Playout.MaxLatenessMs;

    /// <summary>Ticks whose frame was skipped because Asterisk's socket was full.</summary>
    internal long SkippedTicks => _caller.Playout.SkippedTicks;

    /// <summary>The jitter buffer (tests look at its state between ticks).</summary>
    internal JitterBuffer Jitter => _jitter;

    /// <summary>True once the claimed connection is attached: from here every tick writes a frame to Asterisk.</summary>
    internal bool CallerAttached => _caller.Playout.Attached;

    /// <summary>The claimed connection's read, in every tick's last pass (<see cref="CallerConnection.Poll"/>).</summary>
    internal void PollCallerWith(Action poll) => _caller.Playout.PollCaller = poll;

    /// <summary>Starts reading the gateway: bot audio sent before Asterisk connects (a greeting) is buffered.</summary>
    public void StartGateway() => _gateway.Start();

    /// <summary>The gateway's keep-alive check (<see cref="GatewayLeg.CheckKeepAlive"/>), from the watchdog.</summary>
    public void CheckGateway(long now) => _gateway.CheckKeepAlive(now);

    /// <summary>Claims the pending session for an AudioSocket connection; false if already claimed or ended.</summary>
    public bool TryClaim()
    {
        if (Volatile.Read(ref _state) != Pending)
        {
            return false;
        }

        var claimedAt = Stopwatch.GetTimestamp();
        if (Interlocked.CompareExchange(ref _state, Live, Pending) != Pending)
        {
            return false;
        }

        Interlocked.Exchange(ref _liveAt, claimedAt);
        return !IsEnded;
    }

    /// <summary>Relays a claimed AudioSocket connection (its UUID frame already consumed) until the call ends.
    /// <paramref name="resetConnection"/> resets it (RST) when the end reason hands the caller to the fallback.</summary>
    public async Task RunCallerAsync(PipeReader input, PipeWriter output, Action resetConnection)
    {
        Volatile.Write(ref _resetCaller, resetConnection);
        if (Volatile.Read(ref _resetRequested) != 0)
        {
            // The session ended for a failure between the claim and here.
            ResetCaller();
        }

        RelayTelemetry.ActiveSessions.Add(1);
        try
        {
            await _caller.RunAsync(input, output).ConfigureAwait(false);
        }
        finally
        {
            if (!IsEnded)
            {
                await EndAsync(EndReason.RelayError).ConfigureAwait(false);
            }

            await _ended.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Ends the session once, from whichever side (the reason names it). Toward Asterisk: a reset when the reason
    /// hands the caller to the fallback (<see cref="EndReasonExtensions.ResetsCaller"/>), else 0x00 unless Asterisk ended
    /// it. Toward the gateway: an abort when it failed, else <c>stop</c> (unless the gateway ended it) and close 1000.
    /// Then <c>AiSessionEnded</c>.</summary>
    public async Task EndAsync(EndReason reason)
    {
        if (Interlocked.Exchange(ref _endStarted, 1) != 0)
        {
            return;
        }

        var wasLive = Interlocked.Exchange(ref _state, Ended) == Live;
        var endedBy = reason.EndedBy(wasLive);
        _ending.Cancel();
        _gateway.StopTicking();
        if (wasLive)
        {
            if (reason.ResetsCaller())
            {
                MediaRelayLog.CallerConnectionReset(_services.Logger, CallId, SessionId, reason.ToWire());
                Volatile.Write(ref _resetRequested, 1);
                ResetCaller();
            }
            else if (endedBy != SessionEndedBy.Caller)
            {
                await _caller.Playout.HangUpAsync().ConfigureAwait(false);
            }

            // Stop reading what Asterisk still sends after a while, whoever ended the call.
            _caller.StopReadingAfter(TimeSpan.FromSeconds(2));
            RelayTelemetry.ActiveSessions.Add(-1);
        }

        // A gateway that failed or stopped answering gets no stop and no close handshake: its socket is aborted.
        var failed = reason is EndReason.GatewayFailed or EndReason.GatewayKeepAliveTimeout or EndReason.GatewaySendTimeout;
        await _gateway.CloseAsync(failed, sendStop: endedBy != SessionEndedBy.Gateway).ConfigureAwait(false);
        _closed.Cancel();
        var wire = reason.ToWire();
        MediaRelayLog.SessionEnded(_services.Logger, CallId, SessionId, endedBy, wire, FramesToGateway, FramesToCaller, Underruns);
        PublishEnded(endedBy, wire, wasLive);
        _activity?.SetTag("astrapbx.session.ended_by", endedBy.ToString());
        _activity?.SetTag("astrapbx.session.end_reason", wire);
        _activity?.SetTag("astrapbx.session.frames_to_gateway", FramesToGateway);
        _activity?.SetTag("astrapbx.session.frames_to_caller", FramesToCaller);
        if (endedBy == SessionEndedBy.Relay || reason.ResetsCaller())
        {
            _activity?.SetStatus(ActivityStatusCode.Error, wire);
        }

        _activity?.Dispose();
        _ended.TrySetResult();
    }

    /// <summary>Resets the AudioSocket connection once, as soon as both the end asked for it and the connection is known.</summary>
    private void ResetCaller()
    {
        var reset = Volatile.Read(ref _resetCaller);
        if (reset is not null && Interlocked.Exchange(ref _resetDone, 1) == 0)
        {
            reset();
        }
    }

    private void PublishEnded(SessionEndedBy endedBy, string reason, bool wasLive)
    {
        var liveAt = Interlocked.Read(ref _liveAt);
        var ended = new AiSessionEnded
        {
            CallId = CallId,
            AsteriskId = AsteriskId,
            SessionId = SessionId,
            EndedBy = endedBy,
            Reason = reason,
            Duration = Stopwatch.GetElapsedTime(wasLive && liveAt != 0 ? liveAt : _createdAt),
            FramesToGateway = FramesToGateway,
            FramesToCaller = FramesToCaller,
            BytesToGateway = _caller.BytesToGateway,
            BytesToCaller = _caller.Playout.BytesToCaller,
            Underruns = Underruns,
            FramesTrimmed = _jitter.TrimmedFrames,
            FramesTrimmedForSkippedTicks = _jitter.TrimmedForSkippedTicks,
            LateTicks = LateTicks,
            MaxLatenessMs = MaxLatenessMs,
            RelayInstance = _services.Options.Instance,
            EndedAt = DateTimeOffset.UtcNow,
        };

        // Queued under the media-session span, so the publish belongs to the call's trace. The outbound queue publishes
        // it in order through a broker outage; when it is full the queue counts and logs the drop.
        var previous = Activity.Current;
        Activity.Current = _activity;
        try
        {
            _services.Outbound.Enqueue(ended, CallId);
        }
        finally
        {
            Activity.Current = previous;
        }
    }
}
