using AstraPbx.Simulators.AudioSocket;

namespace AstraPbx.Simulators.Ari;

/// <summary>How the simulated Asterisk presents itself.</summary>
public sealed class AsteriskSimulatorOptions
{
    /// <summary>The server's entity id: every event's <c>asterisk_id</c> and <c>/ari/asterisk/info</c>'s <c>system.entity_id</c>.</summary>
    public string AsteriskId { get; init; } = "02:fc:00:00:00:01";

    /// <summary>The ARI user (basic auth or <c>api_key=user:pass</c>).</summary>
    public string Username { get; init; } = "astrapbx";

    public string Password { get; init; } = "astrapbx-secret";

    /// <summary>The context whose <c>continue</c> runs the AudioSocket dialplan (PROTOCOLS.md section 3).</summary>
    public string AudioSocketContext { get; init; } = "audiosocket-ai";

    /// <summary>The context whose <c>continue</c> runs the 16 kHz form: <c>Dial(AudioSocket/.../c(slin16),,g)</c>.</summary>
    public string WidebandAudioSocketContext { get; init; } = "audiosocket-ai-16";

    /// <summary>Port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>What each caller says once dialled into AudioSocket; a 440 Hz tone when null.</summary>
    public Func<SimulatedCall, IAudioSource>? AudioSource { get; init; }

    /// <summary>app_audiosocket's no-activity timeout (<c>MAX_WAIT_TIMEOUT_MSEC</c>, 2000 ms): AudioSocket() fails once
    /// nothing came from the relay and the caller's channel produced nothing for this long. Null turns it off.</summary>
    public TimeSpan? AudioSocketIdleTimeout { get; init; } = TimeSpan.FromMilliseconds(2000);

    /// <summary>app_audiosocket's connect timeout (<c>MAX_CONNECT_TIMEOUT_MSEC</c>, 2000 ms).</summary>
    public TimeSpan AudioSocketConnectTimeout { get; init; } = TimeSpan.FromMilliseconds(2000);
}

/// <summary>One call entering <c>Stasis(app, StasisArgs)</c> from the simulated dialplan.</summary>
public sealed class SimulatedCallOptions
{
    /// <summary>The Stasis application (first argument of <c>Stasis()</c>).</summary>
    public string Application { get; init; } = "astrapbx";

    /// <summary>The arguments after the application, comma-separated as in the dialplan: <c>ai_agent,3</c>.</summary>
    public string StasisArgs { get; init; } = "ai_agent,1";

    public string CallerNumber { get; init; } = "08065978002";

    public string CallerName { get; init; } = "Test Caller";

    /// <summary>The dialled extension (<c>channel.dialplan.exten</c>).</summary>
    public string Extension { get; init; } = "1003";

    /// <summary>The context the call was in when it ran <c>Stasis()</c>.</summary>
    public string Context { get; init; } = "org_demo_internal";

    /// <summary>Channel name; <c>PJSIP/&lt;caller&gt;-&lt;n&gt;</c> when null.</summary>
    public string? ChannelName { get; init; }

    /// <summary>Channel variables set before <c>Stasis()</c> (e.g. <c>ORG_ID</c>), readable with GET variable.</summary>
    public Dictionary<string, string> Variables { get; init; } = [];

    /// <summary>Also put <see cref="Variables"/> into every event's <c>channel.channelvars</c>, as <c>ari.conf</c>'s
    /// <c>channelvars</c> setting does.</summary>
    public bool IncludeChannelVars { get; init; }

    /// <summary>The caller's channel carries no media (a <c>Local</c> channel running <c>Wait()</c>, a phone with
    /// silence suppression): once in AudioSocket it sends the UUID frame and any DTMF, never an audio frame, so only
    /// the relay's frames keep app_audiosocket's 2 s no-activity timeout from firing.</summary>
    public bool SilentCaller { get; init; }

    /// <summary>What this caller says once dialled into AudioSocket; <see cref="AsteriskSimulatorOptions.AudioSource"/>
    /// (or a tone) when null.</summary>
    public IAudioSource? AudioSource { get; init; }
}

/// <summary>Where a <c>continue</c> sent the channel.</summary>
public sealed record DialplanTarget(string Context, string Extension, int Priority);

/// <summary>One <c>continue</c> out of Stasis: where to, and its <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>.</summary>
public sealed record Continuation(DialplanTarget Target, long Timestamp);

/// <summary>How <c>TryExec(AudioSocket(...))</c> returned: <see cref="TryStatus"/> is <c>SUCCESS</c> (the relay sent
/// 0x00 or closed gracefully) or <c>FAILED</c> (a reset, a rejected frame, the 2 s idle timeout, or no connection:
/// <see cref="End"/> is null and <see cref="Error"/> says why). <see cref="Timestamp"/> is when it returned.</summary>
/// <remarks><c>TryStatus</c> is <c>TRYSTATUS</c> for the 8 kHz context and <c>DIALSTATUS</c> for the wideband one.</remarks>
public sealed record AudioSocketResult(string TryStatus, CallerEnd? End, string? Error, long Timestamp)
{
    public bool Succeeded => TryStatus == "SUCCESS";
}

/// <summary>Why a simulated call ended.</summary>
public enum SimulatedEndReason
{
    /// <summary><see cref="SimulatedCall.HangUpAsync"/>: the caller hung up (AudioSocket closed without 0x00).</summary>
    CallerHungUp,

    /// <summary><c>DELETE /channels/{id}</c>.</summary>
    HungUpByAri,

    /// <summary>The relay sent 0x00: AudioSocket() returned, <c>TRYSTATUS=SUCCESS</c>, and the dialplan ran <c>Hangup()</c>.</summary>
    RelayHungUp,

    /// <summary>The relay closed the AudioSocket connection gracefully (FIN, no 0x00): the same as 0x00 for Asterisk,
    /// <c>TRYSTATUS=SUCCESS</c> and <c>Hangup()</c>. A reset, a rejected frame or a failed connect do not end the
    /// channel: it re-enters Stasis with <c>ai_failed,&lt;uuid&gt;</c> (<see cref="SimulatedCall.AudioSocketReturned"/>).</summary>
    RelayClosed,
}

/// <summary>How a simulated call ended.</summary>
public sealed record SimulatedCallEnd(int Cause, string CauseText, SimulatedEndReason Reason);

/// <summary>One event the simulator produced for a call; <see cref="Delivered"/> is false when no events socket of the
/// application was connected or the application was not subscribed (Asterisk drops those).</summary>
public sealed record SimulatedEvent(string Type, string Json, bool Delivered);
