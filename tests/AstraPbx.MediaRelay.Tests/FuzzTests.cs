using AstraPbx.Fuzz.Relay;
using AstraPbx.Fuzz.Running;
using AstraPbx.Fuzz.Targets;
using AstraPbx.MediaRelay.Sessions;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Issue 12 item 6, the short run: the fuzz tool's targets (tools/AstraPbx.Fuzz) on fixed seeds, a few thousand
/// inputs each, and a share of fuzz over a real relay's sockets while a parallel call runs. The tool's bounded run does
/// the million (docs/benchmarks.md); a crash here is replayed with the tool's <c>--replay</c>.</summary>
public sealed class FuzzTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const ulong Seed = 20261202;

    private static FuzzResult Run(FuzzTarget target, long inputs)
    {
        var result = FuzzRunner.Run(target, new FuzzRunSettings(inputs, TimeSpan.FromMinutes(2), Seed, Threads: 2,
            InputTimeout: TimeSpan.FromSeconds(20), MaxCrashes: 1, ShrinkTime: TimeSpan.FromSeconds(5)));
        var crash = result.Crashes.FirstOrDefault();
        Assert.True(crash is null, crash is null ? "" : $"{crash.Kind} at input {crash.Index} of seed {Seed}: {crash.Input}\n{crash.Detail}\n{crash.Shrunk}");
        Assert.Equal(inputs, result.Inputs);
        return result;
    }

    private static long Count(FuzzResult result, string prefix) =>
        result.Outcomes.Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(o => o.Value);

    [Fact]
    public void Admission_refuses_everything_but_the_sessions_own_UUID_frame_under_random_input()
    {
        var result = Run(new AdmissionTarget(), 10_000);

        // The inputs reach both sides of the door: refusals for several reasons, and claims that ran the caller leg.
        Assert.True(Count(result, "refused:first-frame-not-uuid") > 0 && Count(result, "refused:unknown-uuid") > 0
            && Count(result, "refused:bad-uuid-frame") + Count(result, "refused:truncated-uuid-frame") > 0, string.Join(", ", result.Outcomes));
        Assert.True(Count(result, "ended:") > 1000, string.Join(", ", result.Outcomes));
    }

    [Fact]
    public void Caller_leg_ends_every_session_with_a_caller_side_reason_under_random_frames()
    {
        var result = Run(new CallerTarget(), 10_000);

        foreach (var reason in new[] { "oversized-frame", "bad-audio-length", "bad-dtmf", "unknown-kind", "truncated-frame", "caller-closed", "caller-reset" })
        {
            Assert.True(Count(result, "ended:" + reason) > 0, $"no input ended as {reason}: {string.Join(", ", result.Outcomes)}");
        }
    }

    [Fact]
    public void Gateway_codec_turns_bad_messages_into_kinds_or_named_violations()
    {
        var result = Run(new GatewayTarget(), 3_000);

        foreach (var outcome in new[] { "violation:JsonTooDeep", "violation:TextMessageTooLarge", "violation:MarkNameTooLong", "Unparseable", "binary-Media" })
        {
            Assert.True(Count(result, outcome) > 0, $"no input came out as {outcome}: {string.Join(", ", result.Outcomes)}");
        }
    }

    [Fact]
    public void A_fuzz_input_replays_alone_from_its_seed_and_index()
    {
        var target = new CallerTarget();

        var first = FuzzRunner.Replay(target, Seed, 1234);
        var again = FuzzRunner.Replay(target, Seed, 1234);

        Assert.Equal(first, again);
        Assert.NotEqual(first.Input, FuzzRunner.Replay(target, Seed, 1235).Input);
    }

    [Fact]
    public async Task A_parallel_call_keeps_flowing_while_the_relay_takes_fuzz_over_its_sockets()
    {
        var logs = new RelayLogCapture();
        await using var relay = await RelayHost.StartAsync(rabbit, logs: logs);
        await using var echo = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var bot = await FuzzBot.StartAsync();
        var target = new RelayUnderFuzz(relay.Endpoints.AudioSocket, relay.Services.GetRequiredService<SessionPreparer>(), logs);
        await using var call = await ParallelCall.StartAsync(target, echo);
        var fuzzer = new SocketFuzzer(target, bot, call.SessionId, Seed);

        await fuzzer.RunAsync(workers: 4, iterations: 40, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        var result = await call.StopAsync(maxGapBoundMs: 2000);

        Assert.Empty(fuzzer.ConnectionFailures.Concat(fuzzer.SessionFailures).Concat(logs.Errors));
        Assert.True(fuzzer.Connections > 10 && fuzzer.Sessions > 5, $"{fuzzer.Connections} connections, {fuzzer.Sessions} sessions");
        Assert.True(result.Unaffected, result.ToString());
    }
}
