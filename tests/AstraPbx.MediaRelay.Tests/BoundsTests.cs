using System.Net.WebSockets;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Issue 12 item 4 on a whole relay: a bot that breaks a bound (a mark flood, a huge mark name) fails its own
/// session, while a parallel call on the same relay keeps flowing both ways.</summary>
public sealed class BoundsTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("mark-flood")]
    [InlineData("huge-mark-name")]
    public async Task A_bot_over_a_bound_fails_only_its_own_session(string fault)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (bad, _) = await relay.PrepareAsync(gateway.Url.ToString(), MediaMode.AstraPbxBinary);
        var badBot = await gateway.NextSession(Long);
        var (good, _) = await relay.PrepareAsync(gateway.Url.ToString(), MediaMode.AstraPbxBinary);
        await gateway.NextSession(Long);

        await using var badCaller = await relay.DialAsync(bad!.SessionId, new ToneSource());
        await using var goodCaller = await relay.DialAsync(good!.SessionId, new ToneSource());
        await Wait.Until(() => goodCaller.Received.Any(f => f.Payload.Any(b => b != 0)), "echoed audio at the good caller");

        if (fault == "mark-flood")
        {
            // Behind 10 s of queued audio, none of the marks can come due during the flood: past the default bound
            // (256 pending) the session fails, however fast the relay's ticks run.
            await badBot.SendAudioAsync(new byte[10 * 16_000]);
            // The relay aborts the bot's socket once the bound is hit, so a send may fail: that ends the flood.
            try
            {
                for (var i = 0; i < 10_000 && !badBot.Closed.IsCompleted; i++)
                {
                    await badBot.SendMarkAsync("m" + i);
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
        else
        {
            await badBot.SendMarkAsync(new string('m', 1024 * 1024 - 100));
        }

        var ended = await relay.Ended(bad.SessionId);
        Assert.Equal(SessionEndedBy.Gateway, ended.EndedBy);
        // A 1 MiB mark name is over the text message bound before the codec reads it; a mark flood is a violation.
        Assert.Equal(fault == "huge-mark-name" ? "gateway-message-too-large" : "gateway-violation", ended.Reason);

        // The neighbour still carries audio both ways after the bad session ended.
        var before = goodCaller.Received.Count;
        await Wait.Until(() => goodCaller.Received.Count > before + 25, "the good call still flowing");
        Assert.False(goodCaller.Ended.IsCompleted, "the good call is still up");
        await goodCaller.HangUpAsync();
        Assert.Equal("caller-closed", (await relay.Ended(good.SessionId)).Reason);
    }
}
