using System.Diagnostics;
using System.Globalization;
using AstraPbx.AriIngress.Ari;
using AstraPbx.Contracts.Calls;
using AstraPbx.ServiceDefaults.Messaging;
using Microsoft.Extensions.Options;

namespace AstraPbx.AriIngress.Calls;

/// <summary>The last line of defence (issue 11): every Stasis entry arms a timer at the moment it was received; when
/// no command for that entry has been carried out by <see cref="AriOptions.EdgeFallbackAfter"/>, the ingress itself,
/// in the call's queue of work, subscribes to the channel (its hangup is still seen), continues it to the configured
/// fallback or hangs it up, marks the entry decided and queues <see cref="FallbackTaken"/>. Nothing on the way waits on
/// the bus, Routing or the database: only Asterisk has to answer.</summary>
internal sealed class EdgeFallback
{
    /// <summary>Asterisk did not answer or failed (5xx): tried again this much later while the entry is undecided.</summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private readonly AriClient _ari;
    private readonly IOutboundPublisher _publisher;
    private readonly CallEndPublisher _ending;
    private readonly AriOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<EdgeFallback> _logger;
    private readonly CancellationToken _stopping;
    private readonly string _reason;

    public EdgeFallback(AriClient ari, IOutboundPublisher publisher, CallEndPublisher ending, IOptions<AriOptions> options, TimeProvider time,
        IHostApplicationLifetime lifetime, ILogger<EdgeFallback> logger)
    {
        _ari = ari;
        _publisher = publisher;
        _ending = ending;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _stopping = lifetime.ApplicationStopping;
        _reason = "edge:no-command-within-" + _options.EdgeFallbackAfter.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + "ms";
    }

    /// <summary>Runs inside the call's queue of work, once the entry's fields are set: arms the timer of the current
    /// entry, due <see cref="AriOptions.EdgeFallbackAfter"/> after it was received.</summary>
    public void Arm(CallState call)
    {
        call.DisarmEdge();
        var due = call.EntryAt!.Value + _options.EdgeFallbackAfter - _time.GetUtcNow();
        Schedule(call, due);
    }

    private void Schedule(CallState call, TimeSpan due)
    {
        var entry = call.EntryNumber;
        call.EdgeTimer = _time.CreateTimer(state => _ = CallTable.Enqueue(call, () => FireAsync(call, entry)), null,
            due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    private async Task FireAsync(CallState call, int entry)
    {
        // A timer that fired while its entry was being decided, or of an earlier entry: nothing to do.
        if (call.Ended || !call.InStasis || call.EntryNumber != entry || call.DecidedBy is not null)
        {
            return;
        }

        call.DisarmEdge();
        try
        {
            await DecideAsync(call).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            _logger.EdgeFallbackFailed(call.CallId, e.GetType().Name + ": " + e.Message, RetryDelay.TotalMilliseconds);
            Schedule(call, RetryDelay);
        }
    }

    private async Task DecideAsync(CallState call)
    {
        var loop = call.EdgeFallbacks >= _options.EdgeFallbackMaxPerCall;
        var toTarget = _options.HasEdgeFallbackTarget && !loop;

        Activity.Current = null;
        using var activity = AriIngressTelemetry.Source.StartActivity("edge fallback", ActivityKind.Internal, call.TraceContext);
        activity?.SetTag(AriIngressTelemetry.CallIdTag, call.CallId);

        if (!call.Subscribed)
        {
            if (!Settled(call, await _ari.SubscribeAsync(_options.Application, call.CallId, _stopping).ConfigureAwait(false)))
            {
                return;
            }

            call.Subscribed = true;
        }

        var result = toTarget
            ? await _ari.ContinueAsync(call.CallId, _options.EdgeFallbackContext, _options.EdgeFallbackExtension, _options.EdgeFallbackPriority, _stopping).ConfigureAwait(false)
            : await _ari.HangupAsync(call.CallId, AriOptions.EdgeHangupReason, _stopping).ConfigureAwait(false);
        if (!Settled(call, result))
        {
            return;
        }

        var now = _time.GetUtcNow();
        var waitedMs = (now - call.EntryAt!.Value).TotalMilliseconds;
        var destination = toTarget ? _options.EdgeFallbackTarget : AriOptions.EdgeHangupReason;
        if (toTarget)
        {
            call.EdgeFallbacks++;
            call.ContinuedTo = destination;
            call.InStasis = false;
            call.DecidedBy = $"sent to the fallback ({destination}) by the edge";
            _logger.EdgeFallbackTaken(call.CallId, waitedMs, destination);
        }
        else
        {
            call.DecidedBy = $"hung up ({destination}) by the edge";
            if (loop)
            {
                _logger.EdgeFallbackLoop(call.CallId, waitedMs, call.EdgeFallbacks, destination);
            }
            else
            {
                _logger.EdgeFallbackTaken(call.CallId, waitedMs, "a hangup (" + destination + "): no Ari:EdgeFallbackContext is set");
            }
        }

        activity?.SetTag("astrapbx.edge_destination", destination);
        AriIngressTelemetry.EdgeFallbacks.Add(1, new KeyValuePair<string, object?>("outcome", toTarget ? "fallback" : "hangup"));
        var taken = new FallbackTaken
        {
            Entry = call.Entry!,
            DecidedBy = FallbackTaken.DecidedByIngress,
            Outcome = toTarget ? RouteOutcome.Fallback : RouteOutcome.Hangup,
            Reason = loop ? $"{_reason}:fallback-taken-{call.EdgeFallbacks}-times" : _reason,
            Destination = destination,
            TakenAt = now,
        };
        if (_publisher.Enqueue(taken, call.CallId))
        {
            // Routing records the entry from FallbackTaken even if CallEnteredStasis never reached it.
            call.KnownDownstream = true;
        }
        else
        {
            _logger.PublishRefused(call.CallId, nameof(FallbackTaken));
        }
    }

    /// <summary>True to go on. A gone channel ends the call; one already out of Stasis needs nothing; a failure Asterisk
    /// did not judge is tried again shortly.</summary>
    private bool Settled(CallState call, AriResult result)
    {
        switch (result.Status)
        {
            case AriStatus.Ok:
                return true;
            case AriStatus.NotFound:
                _logger.ChannelGone(call.CallId, "the edge fallback");
                _ending.End(call, 0, "channel gone", "the edge fallback");
                return false;
            case AriStatus.Conflict:
                call.InStasis = false;
                _logger.EdgeFallbackNotNeeded(call.CallId);
                return false;
            default:
                _logger.EdgeFallbackFailed(call.CallId, result.ToString(), RetryDelay.TotalMilliseconds);
                Schedule(call, RetryDelay);
                return false;
        }
    }
}
