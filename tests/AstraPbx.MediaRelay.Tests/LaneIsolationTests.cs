using AstraPbx.Audio.AudioSocket;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>A lane's thread ticks every session on it: a connection that sends far faster than real time must not keep
/// it. Before 2026-12-05 a caller's flood was read on the lane itself (the read loop a tick handed it to started there),
/// for as long as the flood went on, and no other session of the lane got a frame.</summary>
public sealed class LaneIsolationTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_caller_flooding_the_relay_does_not_stop_the_frames_of_another_call_on_its_lane()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        // One lane: both calls are ticked by the same thread.
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?> { ["Relay:PlayoutThreads"] = "1" });
        var (flooding, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var (quiet, _) = await relay.PrepareAsync(gateway.Url.ToString());
        await gateway.NextSession(Long);
        await gateway.NextSession(Long);

        await using var other = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await other.SendAsync(RawCaller.Uuid(quiet!.SessionId));
        await using var flooder = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await flooder.SendAsync(RawCaller.Uuid(flooding!.SessionId));
        await Wait.Until(() => other.Frames.Count >= 5, "the other call's first frames");

        // 8,000-byte frames as fast as the socket takes them (far beyond real time; the bot reads them all), for at most
        // 30 s or until the other call has had its frames.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var big = RawCaller.Frame(AudioSocketKind.Slin, new byte[8000]);
        var flood = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await flooder.SendAsync(big);
            }
        });

        await Wait.Until(() => relay.Session(flooding.SessionId).FramesToGateway > 100, "the flood under way");
        var before = other.Frames.Count;
        await Wait.Until(() => other.Frames.Count >= before + 25, "25 more frames of the other call during the flood");
        Assert.False(flood.IsCompleted, "the other call got its frames only once the flood had ended");

        await stop.CancelAsync();
        await flood.WaitAsync(Long);
        Assert.False(other.Closed.IsCompleted, "the other call is still up");
    }
}
