using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Sessions;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>End reasons are a type in the relay and strings on the wire; the strings never change (Routing, the call
/// records and the dashboards read them).</summary>
public sealed class EndReasonTests
{
    public static TheoryData<string, string> WireNames => new()
    {
        { nameof(EndReason.RelayError), "relay-error" },
        { nameof(EndReason.CallerClosed), "caller-closed" },
        { nameof(EndReason.CallerReset), "caller-reset" },
        { nameof(EndReason.CallerHangup), "caller-hangup" },
        { nameof(EndReason.CallerError), "caller-error" },
        { nameof(EndReason.TruncatedFrame), "truncated-frame" },
        { nameof(EndReason.OversizedFrame), "oversized-frame" },
        { nameof(EndReason.UnsupportedAudioKind), "unsupported-audio-kind" },
        { nameof(EndReason.BadAudioLength), "bad-audio-length" },
        { nameof(EndReason.BadDtmf), "bad-dtmf" },
        { nameof(EndReason.UnexpectedUuid), "unexpected-uuid" },
        { nameof(EndReason.UnknownKind), "unknown-kind" },
        { nameof(EndReason.CallerNotReading), "caller-not-reading" },
        { nameof(EndReason.CallerIdle), "caller-idle" },
        { nameof(EndReason.GatewayClosed), "gateway-closed" },
        { nameof(EndReason.GatewayCloseError), "gateway-close-error" },
        { nameof(EndReason.GatewayKeepAliveTimeout), "gateway-keepalive-timeout" },
        { nameof(EndReason.GatewaySendTimeout), "gateway-send-timeout" },
        { nameof(EndReason.GatewayStop), "gateway-stop" },
        { nameof(EndReason.GatewayFailed), "gateway-failed" },
        { nameof(EndReason.GatewayMessageTooLarge), "gateway-message-too-large" },
        { nameof(EndReason.NotClaimed), "not-claimed" },
        { nameof(EndReason.DrainTimeout), "drain-timeout" },
        { nameof(EndReason.GatewayViolation), "gateway-violation" },
    };

    [Theory]
    [MemberData(nameof(WireNames))]
    public void End_reason_keeps_its_wire_name(string reason, string wire) => Assert.Equal(wire, Enum.Parse<EndReason>(reason).ToWire());

    [Fact]
    public void Every_end_reason_has_a_distinct_wire_name_and_all_are_pinned_above()
    {
        var reasons = Enum.GetValues<EndReason>();
        var names = reasons.Select(r => r.ToWire()).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(reasons.Length, names.Count);
        Assert.Equal(reasons.Length, WireNames.Count);
        Assert.DoesNotContain("malformed-frame", names);
    }

    [Fact]
    public void An_undefined_end_reason_has_no_wire_name() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ((EndReason)999).ToWire());

    [Theory]
    [InlineData(nameof(EndReason.CallerClosed), SessionEndedBy.Caller)]
    [InlineData(nameof(EndReason.CallerReset), SessionEndedBy.Caller)]
    [InlineData(nameof(EndReason.CallerHangup), SessionEndedBy.Caller)]
    [InlineData(nameof(EndReason.CallerError), SessionEndedBy.Caller)]
    [InlineData(nameof(EndReason.TruncatedFrame), SessionEndedBy.Caller)]
    [InlineData(nameof(EndReason.OversizedFrame), SessionEndedBy.Relay)]
    [InlineData(nameof(EndReason.UnsupportedAudioKind), SessionEndedBy.Relay)]
    [InlineData(nameof(EndReason.BadAudioLength), SessionEndedBy.Relay)]
    [InlineData(nameof(EndReason.BadDtmf), SessionEndedBy.Relay)]
    [InlineData(nameof(EndReason.UnexpectedUuid), SessionEndedBy.Relay)]
    [InlineData(nameof(EndReason.UnknownKind), SessionEndedBy.Relay)]
    [InlineData(nameof(EndReason.CallerNotReading), SessionEndedBy.Relay)]
    [InlineData(nameof(EndReason.CallerIdle), SessionEndedBy.Relay)]
    [InlineData(nameof(EndReason.RelayError), SessionEndedBy.Relay)]
    [InlineData(nameof(EndReason.GatewayClosed), SessionEndedBy.Gateway)]
    [InlineData(nameof(EndReason.GatewayStop), SessionEndedBy.Gateway)]
    [InlineData(nameof(EndReason.GatewayFailed), SessionEndedBy.Gateway)]
    [InlineData(nameof(EndReason.GatewayMessageTooLarge), SessionEndedBy.Gateway)]
    [InlineData(nameof(EndReason.GatewayViolation), SessionEndedBy.Gateway)]
    [InlineData(nameof(EndReason.GatewayCloseError), SessionEndedBy.Gateway)]
    [InlineData(nameof(EndReason.GatewayKeepAliveTimeout), SessionEndedBy.Gateway)]
    [InlineData(nameof(EndReason.GatewaySendTimeout), SessionEndedBy.Gateway)]
    [InlineData(nameof(EndReason.NotClaimed), SessionEndedBy.NotClaimed)]
    public void End_reason_names_the_side_that_ended_the_call(string reason, SessionEndedBy endedBy)
    {
        Assert.Equal(endedBy, Enum.Parse<EndReason>(reason).EndedBy(wasLive: true));
        Assert.Equal(endedBy, Enum.Parse<EndReason>(reason).EndedBy(wasLive: false));
    }

    [Fact]
    public void A_drain_ends_a_live_call_itself_and_reports_an_unclaimed_one_as_not_claimed()
    {
        Assert.Equal(SessionEndedBy.Relay, EndReason.DrainTimeout.EndedBy(wasLive: true));
        Assert.Equal(SessionEndedBy.NotClaimed, EndReason.DrainTimeout.EndedBy(wasLive: false));
    }

    /// <summary>Only a deliberate end by the bot, or an end from Asterisk's side, hangs up with 0x00; a failed or silent
    /// bot, a relay fault and a drain reset the AudioSocket so the dialplan falls back (issue 12).</summary>
    [Theory]
    [InlineData(nameof(EndReason.GatewayStop), false)]
    [InlineData(nameof(EndReason.GatewayClosed), false)]
    [InlineData(nameof(EndReason.CallerHangup), false)]
    [InlineData(nameof(EndReason.CallerClosed), false)]
    [InlineData(nameof(EndReason.BadDtmf), false)]
    [InlineData(nameof(EndReason.GatewayFailed), true)]
    [InlineData(nameof(EndReason.GatewayCloseError), true)]
    [InlineData(nameof(EndReason.GatewayKeepAliveTimeout), true)]
    [InlineData(nameof(EndReason.GatewaySendTimeout), true)]
    [InlineData(nameof(EndReason.GatewayMessageTooLarge), true)]
    [InlineData(nameof(EndReason.GatewayViolation), true)]
    [InlineData(nameof(EndReason.RelayError), true)]
    [InlineData(nameof(EndReason.DrainTimeout), true)]
    public void End_reason_decides_between_hangup_and_reset(string reason, bool resets) =>
        Assert.Equal(resets, Enum.Parse<EndReason>(reason).ResetsCaller());
}
