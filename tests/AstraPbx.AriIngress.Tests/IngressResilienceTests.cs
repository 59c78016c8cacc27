using AstraPbx.LocalRun;
using AstraPbx.Simulators.Ari;
using AstraPbx.Testing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit;

namespace AstraPbx.AriIngress.Tests;

/// <summary>Outages and bad input: lost events socket, malformed and oversized events, wrong credentials, Asterisk
/// down at start. The ingress keeps going, reports NOT_SERVING while blind, and loses no call.</summary>
public sealed class IngressResilienceTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Calls_that_entered_Stasis_while_the_event_socket_was_down_are_published_after_reconnect()
    {
        await using var world = await World.StartAsync(rabbit);
        var before = await world.Asterisk.StartCallAsync();
        await world.Recorder.EnteredAsync(before.ChannelId);

        await world.Asterisk.PauseEventSocketsAsync();
        await Eventually.Until(world.Ingress.AriHealthAsync, s => s == HealthStatus.Unhealthy, Patience, "NOT_SERVING while the socket is down");
        var missed = new List<SimulatedCall>();
        for (var i = 0; i < 5; i++)
        {
            missed.Add(await world.Asterisk.StartCallAsync(new SimulatedCallOptions { StasisArgs = "ai_agent," + i, Variables = { ["ORG_ID"] = "org-" + i } }));
        }

        // One of them hangs up while nobody listens: it must not be published; and a known call ends unseen.
        await missed[4].HangUpAsync();
        await before.HangUpAsync();
        Assert.All(missed, c => Assert.DoesNotContain(c.Events, e => e.Delivered));

        world.Asterisk.ResumeEventSockets();
        await Eventually.Until(world.Ingress.AriHealthAsync, s => s == HealthStatus.Healthy, Patience, "SERVING after reconnect");
        for (var i = 0; i < 4; i++)
        {
            var entered = await world.Recorder.EnteredAsync(missed[i].ChannelId);
            Assert.Equal(["ai_agent", i.ToString()], entered.StasisArgs);
            Assert.Equal("org-" + i, entered.OrgId);
            Assert.Equal("Up", missed[i].State);
        }

        Assert.Equal(0, (await world.Recorder.EndedAsync(before.ChannelId)).Cause);
        await world.Asterisk.DisconnectEventSocketsAsync();
        await world.Asterisk.WaitForEventSocketAsync(3).WaitAsync(Patience);
        var after = await world.Asterisk.StartCallAsync();
        await world.Recorder.EnteredAsync(after.ChannelId);
        await IngressCallTests.AssertStaysAsync(
            () => missed.Take(4).All(c => world.Recorder.EnteredCount(c.ChannelId) == 1) && world.Recorder.EnteredCount(missed[4].ChannelId) == 0,
            "each missed call published exactly once, the one that hung up never");
    }

    [Fact]
    public async Task Malformed_unknown_and_oversized_events_are_skipped_and_the_ingress_keeps_working()
    {
        await using var world = await World.StartAsync(rabbit, settings: s => s["Ari:MaxEventBytes"] = "4096");
        await world.Asterisk.SendRawEventAsync("this is not json");
        await world.Asterisk.SendRawEventAsync("""{"no_type":true}""");
        await world.Asterisk.SendRawEventAsync("""{"type":"StasisStart","args":[]}""");
        await world.Asterisk.SendRawEventAsync("""{"type":"SomethingNew","channel":{"id":"1.1"}}""");
        await world.Asterisk.SendRawEventAsync("""{"type":"StasisStart","channel":{"id":42}}""");
        var first = await world.Asterisk.StartCallAsync();
        await world.Recorder.EnteredAsync(first.ChannelId);
        Assert.True(world.Ingress.Logs.WithEventId(5).Count() >= 4, world.Ingress.Logs.AllText);

        var connections = world.Asterisk.EventSocketConnections;
        await world.Asterisk.SendRawEventAsync("{\"type\":\"StasisStart\",\"padding\":\"" + new string('x', 10_000) + "\"}");
        await world.Asterisk.WaitForEventSocketAsync(connections + 1).WaitAsync(Patience);
        Assert.Single(world.Ingress.Logs.WithEventId(7));
        var second = await world.Asterisk.StartCallAsync();
        await world.Recorder.EnteredAsync(second.ChannelId);
    }

    [Fact]
    public async Task Wrong_credentials_log_one_clear_error_per_attempt_and_never_the_password()
    {
        await using var asterisk = await AsteriskSimulator.StartAsync();
        var vhost = await rabbit.CreateVirtualHostAsync("ari");
        const string wrong = "not-the-password-4711";
        await using var ingress = await IngressHost.StartAsync(IngressHost.Settings(vhost, asterisk, password: wrong), waitForCommands: false);

        await Eventually.Until(() => Task.FromResult(ingress.Logs.WithEventId(2).Count()), n => n >= 3, Patience, "three failed attempts");
        Assert.Equal(HealthStatus.Unhealthy, await ingress.AriHealthAsync());
        var errors = ingress.Logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error && e.Category.StartsWith("AstraPbx", StringComparison.Ordinal)).ToList();
        Assert.All(errors, e => Assert.Equal(2, e.EventId.Id));
        Assert.All(errors, e => Assert.Contains("rejected the credentials of user 'astrapbx'", e.Message, StringComparison.Ordinal));

        // One error per refused attempt (the id is learnt first, so each attempt is one 401).
        Assert.InRange(errors.Count, asterisk.AuthenticationFailures - 1, asterisk.AuthenticationFailures);
        Assert.DoesNotContain(wrong, ingress.Logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, ingress.Spans.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Asterisk_down_at_start_reports_not_serving_then_recovers_and_learns_its_id()
    {
        var port = ServiceProcess.FreePort();
        var vhost = await rabbit.CreateVirtualHostAsync("ari");
        var options = new AsteriskSimulatorOptions { Port = port, AsteriskId = "02:fc:00:00:aa:01" };
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:rabbitmq"] = vhost,
            ["Ari:BaseUrl"] = $"http://127.0.0.1:{port}",
            ["Ari:Username"] = options.Username,
            ["Ari:Password"] = options.Password,
            ["Ari:ReconnectInitialDelay"] = "00:00:00.100",
            ["Ari:ReconnectMaxDelay"] = "00:00:00.500",
        };
        await using var ingress = await IngressHost.StartAsync(settings, waitForCommands: false);
        await Eventually.Until(() => Task.FromResult(ingress.Logs.WithEventId(2).Count()), n => n >= 2, Patience, "failed attempts while Asterisk is down");
        Assert.Equal(HealthStatus.Unhealthy, await ingress.AriHealthAsync());
        Assert.Null(ingress.Connection.AsteriskId);

        await using var asterisk = await AsteriskSimulator.StartAsync(options);
        var (bus, recorder) = await BusRecorder.StartAsync(vhost);
        await using (bus)
        {
            Assert.Equal("ari-ingress-02-fc-00-00-aa-01", await ingress.Connection.CommandQueueReady.WaitAsync(Patience));
            await Eventually.Until(ingress.AriHealthAsync, s => s == HealthStatus.Healthy, Patience, "SERVING once Asterisk is up");
            Assert.Equal(options.AsteriskId, ingress.Connection.AsteriskId);
            var call = await asterisk.StartCallAsync();
            Assert.Equal(options.AsteriskId, (await recorder.EnteredAsync(call.ChannelId)).AsteriskId);
        }
    }
}
