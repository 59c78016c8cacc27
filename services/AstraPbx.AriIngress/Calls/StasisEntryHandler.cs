using System.Diagnostics;
using AstraPbx.AriIngress.Ari;
using AstraPbx.Contracts.Calls;
using AstraPbx.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace AstraPbx.AriIngress.Calls;

/// <summary>A channel entered Stasis (a <c>StasisStart</c>, or a channel the resync found): starts the call's trace,
/// answers, reads the channel variables, arms the entry's <see cref="EdgeFallback"/> and queues
/// <see cref="CallEnteredStasis"/> on the outbound queue (never waiting for the broker).</summary>
internal sealed class StasisEntryHandler
{
    private const string OrgIdVariable = "ORG_ID";

    private readonly AriClient _ari;
    private readonly IOutboundPublisher _publisher;
    private readonly EdgeFallback _edge;
    private readonly TimeSpan _edgeAfter;
    private readonly AriConnection _connection;
    private readonly CallTable _calls;
    private readonly TimeProvider _time;
    private readonly ILogger<StasisEntryHandler> _logger;
    private readonly CancellationToken _stopping;

    /// <summary>The warm-up's handler: its synthetic entries are not recorded in the entry timings, which describe real calls.</summary>
    internal bool Synthetic { get; set; }
    private readonly string[] _variableNames;

    public StasisEntryHandler(AriClient ari, IOutboundPublisher publisher, EdgeFallback edge, AriConnection connection, CallTable calls,
        IOptions<AriOptions> options, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<StasisEntryHandler> logger)
    {
        _ari = ari;
        _publisher = publisher;
        _edge = edge;
        _edgeAfter = options.Value.EdgeFallbackAfter;
        _connection = connection;
        _calls = calls;
        _time = time;
        _logger = logger;
        _stopping = lifetime.ApplicationStopping;
        _variableNames = [.. new[] { OrgIdVariable }.Concat(options.Value.ChannelVariables).Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Runs inside the call's queue of work. <paramref name="evt"/> carries the channel and the Stasis
    /// arguments; <paramref name="receivedTimestamp"/> and <paramref name="receivedAt"/> are when it arrived.</summary>
    public async Task EnterAsync(CallState call, AriEvent evt, long receivedTimestamp, DateTimeOffset receivedAt, bool resync)
    {
        if (call.Ended || (call.InStasis && call.Published))
        {
            return;
        }

        var channel = evt.Channel!;
        var asteriskId = _connection.AsteriskId ?? "";

        // The call's trace starts here, whatever happened to be current on this thread.
        Activity.Current = null;
        using var root = AriIngressTelemetry.Source.StartActivity("call", ActivityKind.Server, default(ActivityContext));
        root?.SetTag(AriIngressTelemetry.CallIdTag, call.CallId);
        root?.SetTag(AriIngressTelemetry.AsteriskIdTag, asteriskId);
        if (resync)
        {
            root?.SetTag("astrapbx.resync", true);
        }

        call.TraceContext = root?.Context ?? default;
        call.InStasis = true;

        // Answer before anything slow: an unanswered channel waiting in Stasis gets hung up by the far end (seed bug).
        // The variables are read alongside (sent right after the answer, not after its reply): one round trip before
        // CallEnteredStasis instead of two.
        RecordSince(AriIngressTelemetry.AnswerSent, receivedTimestamp);
        var answering = _ari.AnswerAsync(call.CallId, _stopping);
        var reading = ReadVariablesAsync(call.CallId, channel);
        var answer = await answering.ConfigureAwait(false);
        RecordSince(AriIngressTelemetry.Answered, receivedTimestamp);
        if (answer.Status is AriStatus.NotFound or AriStatus.Conflict)
        {
            await reading.ConfigureAwait(false);
            // Gone (404) or already out of Stasis (409): nobody downstream has heard of this entry; drop it.
            _logger.GoneBeforeAnswer(call.CallId, answer);
            call.InStasis = false;
            if (answer.Status == AriStatus.NotFound && !call.KnownDownstream)
            {
                _calls.Forget(call);
            }

            return;
        }

        if (!answer.IsOk)
        {
            _logger.AnswerFailed(call.CallId, answer);
        }

        var answeredAt = answer.IsOk ? _time.GetUtcNow() : (DateTimeOffset?)null;
        var variables = await reading.ConfigureAwait(false);
        var message = new CallEnteredStasis
        {
            CallId = call.CallId,
            AsteriskId = asteriskId,
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
            DecideBy = receivedAt + _edgeAfter,
        };

        // A new entry: commands for an earlier one are late from now on, and the edge deadline counts from its receipt.
        call.EntryRecovered = resync && call.EntryNumber == 0;
        call.EntryNumber++;
        call.EntryAt = receivedAt;
        call.Entry = message;
        call.DecidedBy = null;
        _edge.Arm(call);

        if (!_publisher.Enqueue(message, call.CallId))
        {
            // Dropped by a full outbound queue; the edge fallback still decides the entry and tells Routing.
            root?.SetStatus(ActivityStatusCode.Error, "outbound queue full");
            _logger.PublishRefused(call.CallId, nameof(CallEnteredStasis));
            return;
        }

        RecordSince(AriIngressTelemetry.Published, receivedTimestamp);
        call.Published = true;
        call.KnownDownstream = true;
        _logger.CallEntered(call.CallId, string.Join(',', message.StasisArgs), message.CallerNumber, message.Extension, answer.Status, resync ? " (resync)" : "");
    }

    /// <summary><c>ORG_ID</c> and <see cref="AriOptions.ChannelVariables"/>: from the event's <c>channelvars</c> when
    /// Asterisk sent them, otherwise read, all at once. Empty values are left out.</summary>
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

    private void RecordSince(System.Diagnostics.Metrics.Histogram<double> timing, long receivedTimestamp)
    {
        if (!Synthetic)
        {
            timing.Record(Stopwatch.GetElapsedTime(receivedTimestamp).TotalMilliseconds);
        }
    }
}
