using System.Diagnostics;
using System.Globalization;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Simulators.AudioSocket;

namespace AstraPbx.Simulators.Ari;

/// <summary>The dialplan the product ships, as the simulator runs it after <c>continue</c> into the AudioSocket context
/// (Routing's DialplanGenerator writes it):
/// <code>
/// exten => s,1,NoOp(AI session ${AUDIOSOCKET_UUID} via ${AUDIOSOCKET_SERVICE})
///  same => n,TryExec(AudioSocket(${AUDIOSOCKET_UUID},${AUDIOSOCKET_SERVICE}))
///  same => n,GotoIf($["${TRYSTATUS}" != "SUCCESS"]?failed)
///  same => n,Hangup()
///  same => n(failed),Stasis(app,ai_failed,${AUDIOSOCKET_UUID})
///  same => n,Hangup()
/// </code>
/// TryExec sets <c>TRYSTATUS</c> to SUCCESS when AudioSocket() returned 0 (the relay sent 0x00 or closed gracefully)
/// and FAILED when it returned -1 (a reset, a rejected frame, 2 s with no activity, no connection), as
/// app_exec.c's <c>tryexec_exec</c> and app_audiosocket.c's <c>audiosocket_run</c> do (PROTOCOLS.md 1).
/// The wideband context runs the channel driver instead:
/// <code>
/// exten => s,1,NoOp(AI session ${AUDIOSOCKET_UUID} via ${AUDIOSOCKET_SERVICE}, 16 kHz)
///  same => n,Dial(AudioSocket/${AUDIOSOCKET_SERVICE}/${AUDIOSOCKET_UUID}/c(slin16),,g)
///  same => n,GotoIf($["${DIALSTATUS}" != "ANSWER"]?failed)
///  same => n,Stasis(app,ai_ended,${AUDIOSOCKET_UUID})
///  same => n,Hangup()
///  same => n(failed),Stasis(app,ai_failed,${AUDIOSOCKET_UUID})
///  same => n,Hangup()
/// </code>
/// chan_audiosocket answers once connected (<c>DIALSTATUS=ANSWER</c>; <c>CHANUNAVAIL</c> when it cannot connect),
/// sends 0x12 frames of 640 bytes, has no 2 s no-activity timeout (that is app_audiosocket's), and ends its channel
/// the same way on 0x00, a close or a reset; with <c>g</c> the caller goes on in the dialplan whenever the AI leg
/// ends first (PROTOCOLS.md 1).</summary>
public sealed partial class AsteriskSimulator
{
    private const int TryExecPriority = 2;
    private const int GotoIfPriority = 3;
    private const int HangupPriority = 4;
    private const int FailedPriority = 5;

    private async Task RunAudioSocketDialplanAsync(SimulatedCall call)
    {
        call.Variables.TryGetValue("AUDIOSOCKET_UUID", out var uuid);
        call.Variables.TryGetValue("AUDIOSOCKET_SERVICE", out var service);
        Step(call, 1, "NoOp", $"AI session {uuid} via {service}");
        Step(call, TryExecPriority, "TryExec", $"AudioSocket({uuid},{service})");

        var (end, error) = await RunAudioSocketAsync(call, uuid, service).ConfigureAwait(false);
        if (end == CallerEnd.CallerHungUp)
        {
            // The channel is gone: the dialplan stops here.
            return;
        }

        var succeeded = end is CallerEnd.RelayHungUp or CallerEnd.RelayClosed;
        if (!Returned(call, "TRYSTATUS", succeeded ? "SUCCESS" : "FAILED", end, error))
        {
            return;
        }

        Step(call, GotoIfPriority, "GotoIf", (succeeded ? "0" : "1") + "?failed");
        if (succeeded)
        {
            Step(call, HangupPriority, "Hangup", "");
            EndCall(call, 16, end == CallerEnd.RelayHungUp ? SimulatedEndReason.RelayHungUp : SimulatedEndReason.RelayClosed);
            return;
        }

        EnterStasisAgain(call, FailedPriority, "ai_failed," + uuid);
    }

    private const int DialStatusPriority = 3;
    private const int EndedPriority = 4;
    private const int DialFailedPriority = 6;

    private async Task RunWidebandDialplanAsync(SimulatedCall call)
    {
        call.Variables.TryGetValue("AUDIOSOCKET_UUID", out var uuid);
        call.Variables.TryGetValue("AUDIOSOCKET_SERVICE", out var service);
        Step(call, 1, "NoOp", $"AI session {uuid} via {service}, 16 kHz");
        Step(call, TryExecPriority, "Dial", $"AudioSocket/{service}/{uuid}/c(slin16),,g");

        var (end, error) = await RunAudioSocketAsync(call, uuid, service, AudioSocketKind.Slin16, idleTimeout: null).ConfigureAwait(false);
        if (end == CallerEnd.CallerHungUp)
        {
            return;
        }

        if (!Returned(call, "DIALSTATUS", end is null ? "CHANUNAVAIL" : "ANSWER", end, error))
        {
            return;
        }

        Step(call, DialStatusPriority, "GotoIf", (end is null ? "1" : "0") + "?failed");
        if (end is null)
        {
            EnterStasisAgain(call, DialFailedPriority, "ai_failed," + uuid);
            return;
        }

        EnterStasisAgain(call, EndedPriority, "ai_ended," + uuid);
    }

    /// <summary>AudioSocket() (or Dial) returned: sets <paramref name="variable"/> as Asterisk does (with its
    /// <c>ChannelVarset</c>) and records the return. False when the channel is already gone.</summary>
    private bool Returned(SimulatedCall call, string variable, string status, CallerEnd? end, string? error)
    {
        lock (call)
        {
            if (call.Destroyed)
            {
                return false;
            }

            call.Variables[variable] = status;
            Emit(call, "ChannelVarset", before: w =>
            {
                w.WriteString("variable", variable);
                w.WriteString("value", status);
            });
        }

        call.SetAudioSocketReturned(new AudioSocketResult(status, end, error, Stopwatch.GetTimestamp()));
        return true;
    }

    /// <summary>Dials the relay and waits until AudioSocket() returns: how it ended, or (end null) why it never connected.</summary>
    private Task<(CallerEnd? End, string? Error)> RunAudioSocketAsync(SimulatedCall call, string? uuid, string? service) =>
        RunAudioSocketAsync(call, uuid, service, AudioSocketKind.Slin, Options.AudioSocketIdleTimeout);

    private async Task<(CallerEnd? End, string? Error)> RunAudioSocketAsync(SimulatedCall call, string? uuid, string? service, AudioSocketKind kind, TimeSpan? idleTimeout)
    {
        AudioSocketCaller caller;
        try
        {
            if (!Guid.TryParse(uuid, out var sessionId) || service is null || service.LastIndexOf(':') is var colon && colon <= 0
                || !int.TryParse(service.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                throw new FormatException($"AudioSocket needs a UUID and host:port, got '{uuid}' and '{service}'");
            }

            var options = new CallerOptions
            {
                Source = call.Options.AudioSource ?? Options.AudioSource?.Invoke(call) ?? new ToneSource(),
                Kind = kind,
                Silent = call.Options.SilentCaller,
                ConnectTimeout = Options.AudioSocketConnectTimeout,
                IdleTimeout = idleTimeout,
            };
            caller = await AudioSocketCaller.DialAsync(service[..colon], port, sessionId, options).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FormatException or System.Net.Sockets.SocketException or OperationCanceledException or IOException)
        {
            call.SetAudioSocketFailed(e);
            return (null, e is OperationCanceledException ? "connect timeout" : e.Message);
        }

        lock (call)
        {
            if (call.Destroyed)
            {
                _ = caller.HangUpAsync();
                return (CallerEnd.CallerHungUp, null);
            }

            call.SetAudioSocket(caller);
        }

        return (await caller.Ended.ConfigureAwait(false), null);
    }

    /// <summary>The channel runs <c>Stasis(app, args)</c> again from the dialplan: <c>ChannelDialplan</c> for the app, then
    /// a new <c>StasisStart</c> on the same channel id, as Asterisk emits for a channel that left Stasis and comes back.</summary>
    private void EnterStasisAgain(SimulatedCall call, int priority, string stasisArgs)
    {
        var appData = call.Application + "," + stasisArgs;
        lock (call)
        {
            if (call.Destroyed)
            {
                return;
            }

            Step(call, priority, "Stasis", appData);
            call.InStasis = true;
            call.CountStasisEntry();
            EmitStasisStart(call, stasisArgs);
        }
    }

    private void Step(SimulatedCall call, int priority, string app, string data)
    {
        lock (call)
        {
            if (call.Destroyed)
            {
                return;
            }

            call.Priority = priority;
            call.AppName = app;
            call.AppData = data;
            Emit(call, "ChannelDialplan", after: w =>
            {
                w.WriteString("dialplan_app", app);
                w.WriteString("dialplan_app_data", data);
            });
        }
    }
}
