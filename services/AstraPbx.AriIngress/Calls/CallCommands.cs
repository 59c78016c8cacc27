using AstraPbx.AriIngress.Ari;
using AstraPbx.Contracts.Calls;
using Microsoft.Extensions.Options;

namespace AstraPbx.AriIngress.Calls;

/// <summary>Routing's three commands, carried out on the channel in the call's queue of work. Each is idempotent (a
/// redelivered command that already ran does nothing), answers one Stasis entry (a command for another entry, or for
/// one already decided by the edge fallback or another command, is late: ignored and logged, see
/// <see cref="IsLate"/>), decides that entry (the edge timer stops) and settles ARI's answers the same way
/// (<see cref="Settle"/>).</summary>
internal sealed class CallCommands(AriClient ari, CallTable calls, CallEndPublisher ending, AriConnection connection, IOptions<AriOptions> options,
    ILogger<CallCommands> logger)
{
    private const string RelayUuidVariable = "AUDIOSOCKET_UUID";
    private const string RelayServiceVariable = "AUDIOSOCKET_SERVICE";

    private readonly AriOptions _options = options.Value;

    /// <summary>Sets <c>AUDIOSOCKET_UUID</c> and <c>AUDIOSOCKET_SERVICE</c> (before <c>continue</c>: afterwards they
    /// fail with 409), subscribes to the channel so its real hangup is seen, and continues it into the AudioSocket context.</summary>
    public Task ConnectToRelayAsync(ConnectToRelay command, CancellationToken cancellationToken)
    {
        var call = ForCommand(command.CallId, command.AsteriskId);
        return CallTable.Enqueue(call, async () =>
        {
            const string name = nameof(ConnectToRelay);
            var decision = $"decided by {name} (session {command.SessionId})";
            if (IsDone(call, name, command.EnteredAt, decision) || IsLate(call, name, command.EnteredAt, decision))
            {
                return;
            }

            if (call.RelaySession == command.SessionId)
            {
                logger.CommandAlreadyDone(call.CallId, name, "session " + command.SessionId);
                return;
            }

            var context = string.IsNullOrWhiteSpace(command.Context) ? _options.AudioSocketContext : command.Context;

            // The two variables and the subscription only have to be in place before continue, not before each other:
            // one round trip for the three instead of three (call setup waits on each; docs/benchmarks.md).
            var uuid = ari.SetVariableAsync(call.CallId, RelayUuidVariable, command.SessionId.ToString(), cancellationToken);
            var service = ari.SetVariableAsync(call.CallId, RelayServiceVariable, command.RelayEndpoint, cancellationToken);
            var subscribe = call.Subscribed ? null : ari.SubscribeAsync(_options.Application, call.CallId, cancellationToken);
            var uuidResult = await uuid.ConfigureAwait(false);
            var serviceResult = await service.ConfigureAwait(false);
            var subscribeResult = subscribe is null ? (AriResult?)null : await subscribe.ConfigureAwait(false);
            if (!Settle(call, name, uuidResult)
                || !Settle(call, name, serviceResult)
                || !Subscribed(call, name, subscribeResult)
                || !Settle(call, name, await ari.ContinueAsync(call.CallId, context, "s", 1, cancellationToken).ConfigureAwait(false)))
            {
                return;
            }

            call.RelaySession = command.SessionId;
            call.ContinuedTo = context + ",s,1";
            call.InStasis = false;
            Decide(call, decision);
            logger.ConnectedToRelay(call.CallId, command.RelayEndpoint, command.SessionId, context);
        });
    }

    /// <summary>Continues the channel in the dialplan, subscribed first so that its hangup still becomes CallEnded.</summary>
    public Task ContinueInDialplanAsync(ContinueInDialplan command, CancellationToken cancellationToken)
    {
        var call = ForCommand(command.CallId, command.AsteriskId);
        return CallTable.Enqueue(call, async () =>
        {
            const string name = nameof(ContinueInDialplan);
            var target = $"{command.Context},{command.Extension},{command.Priority}";
            var decision = $"decided by {name} ({target})";
            if (IsDone(call, name, command.EnteredAt, decision) || IsLate(call, name, command.EnteredAt, decision))
            {
                return;
            }

            if (call.ContinuedTo == target)
            {
                logger.CommandAlreadyDone(call.CallId, name, target);
                return;
            }

            if (!await SubscribeAsync(call, name, cancellationToken).ConfigureAwait(false)
                || !Settle(call, name, await ari.ContinueAsync(call.CallId, command.Context, command.Extension, command.Priority, cancellationToken).ConfigureAwait(false)))
            {
                return;
            }

            call.ContinuedTo = target;
            call.InStasis = false;
            Decide(call, decision);
            logger.ContinuedInDialplan(call.CallId, command.Context, command.Extension, command.Priority, command.Reason);
        });
    }

    /// <summary>Hangs the channel up; its hangup events then publish CallEnded. A channel already gone is ended here.</summary>
    public Task HangupAsync(HangupCall command, CancellationToken cancellationToken)
    {
        var call = ForCommand(command.CallId, command.AsteriskId);
        return CallTable.Enqueue(call, async () =>
        {
            const string name = nameof(HangupCall);
            var reason = string.IsNullOrWhiteSpace(command.Reason) ? "normal" : command.Reason;
            var decision = $"decided by {name} ({reason})";
            if (IsDone(call, name, command.EnteredAt, decision) || IsLate(call, name, command.EnteredAt, decision))
            {
                return;
            }

            if (Settle(call, name, await ari.HangupAsync(call.CallId, reason, cancellationToken).ConfigureAwait(false)))
            {
                Decide(call, decision);
                logger.HungUp(call.CallId, reason);
            }
        });
    }

    /// <summary>Already carried out (logged): the call ended, or the entry the command names was decided by this very
    /// command (a redelivery).</summary>
    private bool IsDone(CallState call, string command, DateTimeOffset? enteredAt, string decision)
    {
        if (call.Ended || (enteredAt is not null && enteredAt == call.EntryAt && call.DecidedBy == decision))
        {
            logger.CommandAlreadyDone(call.CallId, command, call.Ended ? "call ended" : decision);
            return true;
        }

        return false;
    }

    /// <summary>True (logged and counted) when a command that names its entry (<paramref name="enteredAt"/>) answers
    /// one that is not the channel's current entry, or one already decided by something else (the edge fallback,
    /// another command, an earlier ingress process whose channel the resync adopted outside Stasis). A command that
    /// names no entry, or for a call this process does not know (it just restarted), is carried out as before.</summary>
    private bool IsLate(CallState call, string command, DateTimeOffset? enteredAt, string decision)
    {
        if (enteredAt is not { } answers || (call.EntryAt is null && call.DecidedBy is null))
        {
            return false;
        }

        string why;
        if (call.EntryAt is not { } current)
        {
            // Adopted by the resync: the channel had left Stasis before this process started, so its entries are decided.
            why = "was already " + call.DecidedBy;
        }
        else if (answers != current && !(call.EntryRecovered && answers < current))
        {
            // (A recovered entry also takes a command for an earlier entry: the same stay in Stasis, decided by Routing
            // for the previous process. Without it the call is decided again, and Routing, seeing its first decision
            // as a fallback already taken, hangs the caller up.)
            why = $"is not the channel's current entry ({current:O})";
        }
        else if (call.DecidedBy is { } by && by != decision)
        {
            why = "was already " + by;
        }
        else
        {
            return false;
        }

        AriIngressTelemetry.LateCommands.Add(1, new KeyValuePair<string, object?>("command", command));
        logger.LateCommand(command, call.CallId, answers, why);
        return true;
    }

    private static void Decide(CallState call, string decision)
    {
        call.DecidedBy = decision;
        call.DisarmEdge();
    }

    private async Task<bool> SubscribeAsync(CallState call, string command, CancellationToken cancellationToken) =>
        call.Subscribed || Subscribed(call, command, await ari.SubscribeAsync(_options.Application, call.CallId, cancellationToken).ConfigureAwait(false));

    /// <summary>Settles a subscription's answer (null: the call was subscribed already) and remembers a success.</summary>
    private bool Subscribed(CallState call, string command, AriResult? result)
    {
        if (result is not { } answer)
        {
            return true;
        }

        if (!Settle(call, command, answer))
        {
            return false;
        }

        call.Subscribed = true;
        return true;
    }

    /// <summary>True to go on. A gone channel becomes CallEnded; 409 means a redelivered command whose <c>continue</c>
    /// already ran (the channel left Stasis); transient failures throw so that the consumer's retry runs.</summary>
    private bool Settle(CallState call, string command, AriResult result)
    {
        switch (result.Status)
        {
            case AriStatus.Ok:
                return true;
            case AriStatus.NotFound:
                logger.ChannelGone(call.CallId, command);
                call.KnownDownstream = true;
                ending.End(call, 0, "channel gone", command);
                return false;
            case AriStatus.Conflict:
                call.InStasis = false;
                logger.CommandAlreadyDone(call.CallId, command, "channel not in Stasis");
                return false;
            default:
                logger.CommandFailed(call.CallId, command, result);
                throw new AriUnavailableException(command, result);
        }
    }

    private CallState ForCommand(string callId, string asteriskId)
    {
        calls.Prune();
        var own = connection.AsteriskId ?? "";
        if (own.Length > 0 && !string.Equals(asteriskId, own, StringComparison.Ordinal))
        {
            logger.WrongAsterisk(callId, asteriskId, own);
        }

        return calls.GetOrAdd(callId);
    }
}
