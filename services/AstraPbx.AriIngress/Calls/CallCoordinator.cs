using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using AstraPbx.AriIngress.Ari;
using AstraPbx.Contracts.Calls;
using MassTransit;
using Microsoft.Extensions.Options;

namespace AstraPbx.AriIngress.Calls;

/// <summary>The ingress's decisions: what an ARI event or a command does to a call. Work for one call runs strictly in
/// order (events as they arrived, commands as consumed), calls run in parallel. Per-call memory is bounded: ended
/// calls are forgotten after <see cref="AriOptions.EndedCallRetention"/>.</summary>
public sealed class CallCoordinator
{
    private const string RelayUuidVariable = "AUDIOSOCKET_UUID";
    private const string RelayServiceVariable = "AUDIOSOCKET_SERVICE";
    private const string OrgIdVariable = "ORG_ID";

    private readonly ConcurrentDictionary<string, CallState> _calls = new(StringComparer.Ordinal);
    private readonly Queue<CallState> _ended = new();
    private readonly AriClient _ari;
    private readonly IBus _bus;
    private readonly AriConnection _connection;
    private readonly AriOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CallCoordinator> _logger;
    private readonly CancellationToken _stopping;
    private readonly string[] _variableNames;

    public CallCoordinator(AriClient ari, IBus bus, AriConnection connection, IOptions<AriOptions> options, TimeProvider time,
        IHostApplicationLifetime lifetime, ILogger<CallCoordinator> logger)
    {
        _ari = ari;
        _bus = bus;
        _connection = connection;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _stopping = lifetime.ApplicationStopping;
        _variableNames = [.. new[] { OrgIdVariable }.Concat(_options.ChannelVariables).Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Calls held in memory right now (live and recently ended).</summary>
    public int TrackedCalls => _calls.Count;

    private string AsteriskId => _connection.AsteriskId ?? "";

    /// <summary>One text message from the events socket. Malformed or unknown events are logged and skipped.</summary>
    public void OnMessage(ReadOnlySpan<byte> utf8, long receivedTimestamp)
    {
        AriEvent? evt;
        try
        {
            evt = JsonSerializer.Deserialize(utf8, AriJsonContext.Default.AriEvent);
        }
        catch (JsonException e)
        {
            // The exception names the position only; the event text is not logged.
            Skip(utf8.Length, "not ARI JSON: " + e.Message);
            return;
        }

        if (evt?.Type is null)
        {
            Skip(utf8.Length, "no 'type'");
            return;
        }

        OnEvent(evt, receivedTimestamp);
    }

    /// <summary>One parsed event.</summary>
    public void OnEvent(AriEvent evt, long receivedTimestamp)
    {
        Prune();
        switch (evt.Type)
        {
            case "StasisStart":
                if (ChannelId(evt) is not { } startId)
                {
                    return;
                }

                if (evt.Application is { } app && !string.Equals(app, _options.Application, StringComparison.Ordinal))
                {
                    return;
                }

                var call = _calls.GetOrAdd(startId, static id => new CallState(id));
                var receivedAt = _time.GetUtcNow();
                _ = Enqueue(call, () => HandleStasisStartAsync(call, evt, receivedTimestamp, receivedAt, resync: false));
                return;

            case "StasisEnd":
                if (Known(evt) is { } leaving)
                {
                    _ = Enqueue(leaving, () =>
                    {
                        leaving.InStasis = false;
                        leaving.Published = false;
                        _logger.StasisEnded(leaving.CallId, leaving.ContinuedTo is not null);
                        return Task.CompletedTask;
                    });
                }

                return;

            case "ChannelHangupRequest":
            case "ChannelDestroyed":
                if (Known(evt) is { } ending)
                {
                    var cause = evt.Cause ?? 0;
                    var text = string.IsNullOrEmpty(evt.CauseTxt) ? HangupCause.Text(cause) : evt.CauseTxt;
                    _ = Enqueue(ending, () => EndAsync(ending, cause, text, evt.Type, _stopping));
                }

                return;

            case "ChannelStateChange":
            case "ChannelVarset":
            case "ChannelDialplan":
            case "ChannelDtmfReceived":
            case "ChannelCallerId":
            case "ChannelConnectedLine":
            case "ChannelEnteredBridge":
            case "ChannelLeftBridge":
            case "ChannelTalkingStarted":
            case "ChannelTalkingFinished":
            case "ApplicationReplaced":
            case "ApplicationRegistered":
                return;

            default:
                AriIngressTelemetry.SkippedEvents.Add(1);
                _logger.EventUnknown(evt.Type ?? "");
                return;
        }
    }

    /// <summary>After every (re)connect: Asterisk drops events while no socket is open, so ask it which channels the
    /// application holds, publish those still in Stasis that were never published, and check that calls the ingress
    /// knows but Asterisk no longer lists are still alive.</summary>
    public async Task ResyncAsync(CancellationToken cancellationToken)
    {
        try
        {
            var application = await _ari.GetApplicationAsync(_options.Application, cancellationToken).ConfigureAwait(false);
            if (!application.IsOk || application.Value is null)
            {
                _logger.ResyncFailed(application.Result);
                return;
            }

            var listed = new HashSet<string>(application.Value.ChannelIds ?? [], StringComparer.Ordinal);
            var recovered = 0;
            var ended = 0;
            var work = new List<Task>();
            foreach (var id in listed)
            {
                if (_calls.TryGetValue(id, out var known) && (known.Published || known.Ended))
                {
                    continue;
                }

                var channel = await _ari.GetChannelAsync(id, cancellationToken).ConfigureAwait(false);
                if (!channel.IsOk || channel.Value?.Dialplan is not { AppName: "Stasis" } dialplan
                    || StasisArgs.FromAppData(dialplan.AppData, _options.Application) is not { } args)
                {
                    continue;
                }

                var evt = new AriEvent
                {
                    Type = "StasisStart",
                    Application = _options.Application,
                    AsteriskId = AsteriskId,
                    Args = [.. args],
                    Channel = channel.Value,
                };
                var call = _calls.GetOrAdd(id, static i => new CallState(i));
                recovered++;
                var now = Stopwatch.GetTimestamp();
                var at = _time.GetUtcNow();
                work.Add(Enqueue(call, () => HandleStasisStartAsync(call, evt, now, at, resync: true)));
            }

            foreach (var call in _calls.Values)
            {
                if (call.KnownDownstream && !call.Ended && !listed.Contains(call.CallId))
                {
                    work.Add(Enqueue(call, async () =>
                    {
                        if (call.Ended)
                        {
                            return;
                        }

                        var channel = await _ari.GetChannelAsync(call.CallId, cancellationToken).ConfigureAwait(false);
                        if (channel.Status == AriStatus.NotFound)
                        {
                            Interlocked.Increment(ref ended);
                            await EndAsync(call, 0, "hung up while the ARI socket was down", "resync", cancellationToken).ConfigureAwait(false);
                        }
                        else if (channel.IsOk && !call.InStasis)
                        {
                            // Out of Stasis and not listed: the subscription was lost with the socket; renew it.
                            call.Subscribed = (await _ari.SubscribeAsync(_options.Application, call.CallId, cancellationToken).ConfigureAwait(false)).IsOk;
                        }
                    }));
                }
            }

            await Task.WhenAll(work).ConfigureAwait(false);
            _logger.Resynced(listed.Count, recovered, ended);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sets <c>AUDIOSOCKET_UUID</c> and <c>AUDIOSOCKET_SERVICE</c> (before <c>continue</c>: afterwards they
    /// fail with 409), subscribes to the channel so its real hangup is seen, and continues it into the AudioSocket context.</summary>
    public Task ConnectToRelayAsync(ConnectToRelay command, CancellationToken cancellationToken)
    {
        var call = ForCommand(command.CallId, command.AsteriskId);
        return Enqueue(call, async () =>
        {
            const string name = nameof(ConnectToRelay);
            if (call.Ended || call.RelaySession == command.SessionId)
            {
                _logger.CommandAlreadyDone(call.CallId, name, call.Ended ? "call ended" : "session " + command.SessionId);
                return;
            }

            var context = string.IsNullOrWhiteSpace(command.Context) ? _options.AudioSocketContext : command.Context;
            if (!await SettleAsync(call, name, await _ari.SetVariableAsync(call.CallId, RelayUuidVariable, command.SessionId.ToString(), cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
                || !await SettleAsync(call, name, await _ari.SetVariableAsync(call.CallId, RelayServiceVariable, command.RelayEndpoint, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
                || !await SubscribeAsync(call, name, cancellationToken).ConfigureAwait(false)
                || !await SettleAsync(call, name, await _ari.ContinueAsync(call.CallId, context, "s", 1, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            call.RelaySession = command.SessionId;
            call.ContinuedTo = context + ",s,1";
            call.InStasis = false;
            _logger.ConnectedToRelay(call.CallId, command.RelayEndpoint, command.SessionId, context);
        });
    }

    /// <summary>Continues the channel in the dialplan, subscribed first so that its hangup still becomes CallEnded.</summary>
    public Task ContinueInDialplanAsync(ContinueInDialplan command, CancellationToken cancellationToken)
    {
        var call = ForCommand(command.CallId, command.AsteriskId);
        return Enqueue(call, async () =>
        {
            const string name = nameof(ContinueInDialplan);
            var target = $"{command.Context},{command.Extension},{command.Priority}";
            if (call.Ended || call.ContinuedTo == target)
            {
                _logger.CommandAlreadyDone(call.CallId, name, call.Ended ? "call ended" : target);
                return;
            }

            if (!await SubscribeAsync(call, name, cancellationToken).ConfigureAwait(false)
                || !await SettleAsync(call, name, await _ari.ContinueAsync(call.CallId, command.Context, command.Extension, command.Priority, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            call.ContinuedTo = target;
            call.InStasis = false;
            _logger.ContinuedInDialplan(call.CallId, command.Context, command.Extension, command.Priority, command.Reason);
        });
    }

    /// <summary>Hangs the channel up; its hangup events then publish CallEnded. A channel already gone is ended here.</summary>
    public Task HangupAsync(HangupCall command, CancellationToken cancellationToken)
    {
        var call = ForCommand(command.CallId, command.AsteriskId);
        return Enqueue(call, async () =>
        {
            if (call.Ended)
            {
                _logger.CommandAlreadyDone(call.CallId, nameof(HangupCall), "call ended");
                return;
            }

            var reason = string.IsNullOrWhiteSpace(command.Reason) ? "normal" : command.Reason;
            if (await SettleAsync(call, nameof(HangupCall), await _ari.HangupAsync(call.CallId, reason, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false))
            {
                _logger.HungUp(call.CallId, reason);
            }
        });
    }

    private async Task HandleStasisStartAsync(CallState call, AriEvent evt, long receivedTimestamp, DateTimeOffset receivedAt, bool resync)
    {
        if (call.Ended || (call.InStasis && call.Published))
        {
            return;
        }

        var channel = evt.Channel!;

        // The call's trace starts here, whatever happened to be current on this thread.
        Activity.Current = null;
        using var root = AriIngressTelemetry.Source.StartActivity("call", ActivityKind.Server, default(ActivityContext));
        root?.SetTag(AriIngressTelemetry.CallIdTag, call.CallId);
        root?.SetTag(AriIngressTelemetry.AsteriskIdTag, AsteriskId);
        if (resync)
        {
            root?.SetTag("astrapbx.resync", true);
        }

        call.TraceContext = root?.Context ?? default;
        call.InStasis = true;

        // Answer before anything slow: an unanswered channel waiting in Stasis gets hung up by the far end (seed bug).
        AriIngressTelemetry.AnswerSent.Record(Stopwatch.GetElapsedTime(receivedTimestamp).TotalMilliseconds);
        var answer = await _ari.AnswerAsync(call.CallId, _stopping).ConfigureAwait(false);
        AriIngressTelemetry.Answered.Record(Stopwatch.GetElapsedTime(receivedTimestamp).TotalMilliseconds);
        if (answer.Status is AriStatus.NotFound or AriStatus.Conflict)
        {
            // Gone (404) or already out of Stasis (409): nobody downstream has heard of this entry; drop it.
            _logger.GoneBeforeAnswer(call.CallId, answer);
            call.InStasis = false;
            if (answer.Status == AriStatus.NotFound && !call.KnownDownstream)
            {
                Forget(call);
            }

            return;
        }

        if (!answer.IsOk)
        {
            _logger.AnswerFailed(call.CallId, answer);
        }

        var answeredAt = answer.IsOk ? _time.GetUtcNow() : (DateTimeOffset?)null;
        var variables = await ReadVariablesAsync(call.CallId, channel).ConfigureAwait(false);
        var message = new CallEnteredStasis
        {
            CallId = call.CallId,
            AsteriskId = AsteriskId,
            ChannelName = channel.Name ?? "",
            StasisArgs = evt.Args is { } args ? [.. args] : [],
            CallerNumber = channel.Caller?.Number ?? "",
            CallerName = channel.Caller?.Name ?? "",
            Extension = channel.Dialplan?.Exten ?? "",
            Context = channel.Dialplan?.Context ?? "",
            OrgId = variables.TryGetValue(OrgIdVariable, out var org) ? org : "",
            Variables = variables,
            EnteredAt = receivedAt,
            AnsweredAt = answeredAt,
        };

        try
        {
            await _bus.Publish(message, _stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            root?.SetStatus(ActivityStatusCode.Error, "publish failed");
            _logger.PublishFailed(call.CallId, nameof(CallEnteredStasis), e);
            return;
        }

        AriIngressTelemetry.Published.Record(Stopwatch.GetElapsedTime(receivedTimestamp).TotalMilliseconds);
        call.Published = true;
        call.KnownDownstream = true;
        _logger.CallEntered(call.CallId, string.Join(',', message.StasisArgs), message.CallerNumber, message.Extension, answer.Status, resync ? " (resync)" : "");
    }

    private async Task<Dictionary<string, string>> ReadVariablesAsync(string callId, AriChannel channel)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        List<(string Name, Task<AriResult<string?>> Read)>? reads = null;
        foreach (var name in _variableNames)
        {
            if (channel.ChannelVars is { } present && present.TryGetValue(name, out var value))
            {
                if (!string.IsNullOrEmpty(value))
                {
                    values[name] = value;
                }

                continue;
            }

            (reads ??= []).Add((name, _ari.GetVariableAsync(callId, name, _stopping)));
        }

        if (reads is not null)
        {
            foreach (var (name, read) in reads)
            {
                var result = await read.ConfigureAwait(false);
                if (!result.IsOk)
                {
                    _logger.VariableUnreadable(callId, name, result.Result);
                }
                else if (!string.IsNullOrEmpty(result.Value))
                {
                    values[name] = result.Value;
                }
            }
        }

        return values;
    }

    /// <summary>Publishes CallEnded once; later hangup events and commands for the call are then no-ops.</summary>
    private async Task EndAsync(CallState call, int cause, string causeText, string source, CancellationToken cancellationToken)
    {
        if (call.Ended)
        {
            return;
        }

        if (!call.KnownDownstream)
        {
            // Hung up before CallEnteredStasis went out: nobody downstream knows the call.
            Forget(call);
            return;
        }

        Activity.Current = null;
        using var activity = AriIngressTelemetry.Source.StartActivity("call ended", ActivityKind.Internal, call.TraceContext);
        activity?.SetTag(AriIngressTelemetry.CallIdTag, call.CallId);
        activity?.SetTag("astrapbx.hangup_cause", cause);
        try
        {
            await _bus.Publish(new CallEnded
            {
                CallId = call.CallId,
                AsteriskId = AsteriskId,
                Cause = cause,
                CauseText = causeText,
                EndedAt = _time.GetUtcNow(),
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not marked ended: the next hangup event of this call (ChannelDestroyed follows the request) tries again.
            _logger.PublishFailed(call.CallId, nameof(CallEnded), e);
            return;
        }

        _logger.CallEnded(call.CallId, cause, causeText, source);
        Forget(call);
    }

    private async Task<bool> SubscribeAsync(CallState call, string command, CancellationToken cancellationToken)
    {
        if (call.Subscribed)
        {
            return true;
        }

        var result = await _ari.SubscribeAsync(_options.Application, call.CallId, cancellationToken).ConfigureAwait(false);
        if (!await SettleAsync(call, command, result, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        call.Subscribed = true;
        return true;
    }

    /// <summary>True to go on. A gone channel becomes CallEnded; 409 means a redelivered command whose <c>continue</c>
    /// already ran (the channel left Stasis); transient failures throw so that the consumer's retry runs.</summary>
    private async Task<bool> SettleAsync(CallState call, string command, AriResult result, CancellationToken cancellationToken)
    {
        switch (result.Status)
        {
            case AriStatus.Ok:
                return true;
            case AriStatus.NotFound:
                _logger.ChannelGone(call.CallId, command);
                call.KnownDownstream = true;
                await EndAsync(call, 0, "channel gone", command, cancellationToken).ConfigureAwait(false);
                return false;
            case AriStatus.Conflict:
                call.InStasis = false;
                _logger.CommandAlreadyDone(call.CallId, command, "channel not in Stasis");
                return false;
            default:
                _logger.CommandFailed(call.CallId, command, result);
                throw new AriUnavailableException(command, result);
        }
    }

    private CallState ForCommand(string callId, string asteriskId)
    {
        Prune();
        if (AsteriskId.Length > 0 && !string.Equals(asteriskId, AsteriskId, StringComparison.Ordinal))
        {
            _logger.WrongAsterisk(callId, asteriskId, AsteriskId);
        }

        return _calls.GetOrAdd(callId, static id => new CallState(id));
    }

    private CallState? Known(AriEvent evt) =>
        ChannelId(evt) is { } id && _calls.TryGetValue(id, out var call) ? call : null;

    private string? ChannelId(AriEvent evt)
    {
        if (evt.Channel?.Id is { Length: > 0 } id)
        {
            return id;
        }

        Skip(0, $"'{evt.Type}' without channel.id");
        return null;
    }

    private void Skip(int length, string problem)
    {
        AriIngressTelemetry.SkippedEvents.Add(1);
        _logger.EventMalformed(length, problem);
    }

    /// <summary>Runs <paramref name="work"/> after everything queued before it for the same call.</summary>
    private static Task Enqueue(CallState call, Func<Task> work)
    {
        lock (call)
        {
            var run = call.Tail.ContinueWith(static (_, w) => ((Func<Task>)w!)(), work, CancellationToken.None,
                TaskContinuationOptions.DenyChildAttach, TaskScheduler.Default).Unwrap();

            // The chain goes on after a failed step; the failure reaches whoever awaits that step.
            call.Tail = run.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return run;
        }
    }

    private void Forget(CallState call)
    {
        call.Ended = true;
        call.EndedAt = _time.GetUtcNow();
        lock (_ended)
        {
            _ended.Enqueue(call);
        }
    }

    /// <summary>Drops ended calls older than the retention, and more of the oldest ended ones while over the cap.</summary>
    private void Prune()
    {
        var cutoff = _time.GetUtcNow() - _options.EndedCallRetention;
        lock (_ended)
        {
            while (_ended.TryPeek(out var oldest) && (oldest.EndedAt < cutoff || _calls.Count > _options.MaxTrackedCalls))
            {
                _ended.Dequeue();
                _calls.TryRemove(new KeyValuePair<string, CallState>(oldest.CallId, oldest));
            }
        }

        if (_calls.Count > _options.MaxTrackedCalls && _calls.Count % 1000 == 0)
        {
            _logger.TooManyCalls(_calls.Count);
        }
    }
}

/// <summary>Asterisk could not carry out a command right now (5xx, unreachable, credentials); the consumer retries.
/// The message holds the status only, never a URL or credentials.</summary>
public sealed class AriUnavailableException(string command, AriResult result)
    : Exception($"{command} for call {result.ChannelId} failed: {result}")
{
    public AriResult Result { get; } = result;
}
