using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AstraPbx.AriIngress.Ari;
using AstraPbx.Simulators.Ari;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.AriIngress.Tests;

/// <summary>The JSON shapes stay honest: the ingress's models read what a real Asterisk sent (Samples/, recorded from
/// Asterisk master), and the simulator writes the same event sequence, fields and error bodies.</summary>
public sealed class SampleShapeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static JsonArray RecordedEvents => JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Samples", "events-ai-call.json")))!.AsArray();

    private static JsonObject RecordedRest => JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Samples", "rest-responses.json")))!.AsObject();

    [Fact]
    public void Recorded_events_parse_into_the_ingress_models()
    {
        var events = RecordedEvents.Select(e => JsonSerializer.Deserialize(e!.ToJsonString(), AriJsonContext.Default.AriEvent)!).ToList();

        var start = events[0];
        Assert.Equal("StasisStart", start.Type);
        Assert.Equal(["ai_agent", "73c9ef8e-003f-420a-a742-fe710186ccf0"], start.Args);
        Assert.Equal("1795468956.7", start.Channel!.Id);
        Assert.Equal("Local/1003@org_demo_internal-00000003;2", start.Channel.Name);
        Assert.Equal("08065978002", start.Channel.Caller!.Number);
        Assert.Equal("Test Caller", start.Channel.Caller.Name);
        Assert.Equal("1003", start.Channel.Dialplan!.Exten);
        Assert.Equal("org_demo_internal", start.Channel.Dialplan.Context);
        Assert.Equal("astrapbx,ai_agent,73c9ef8e-003f-420a-a742-fe710186ccf0", start.Channel.Dialplan.AppData);
        Assert.Equal("02:fc:00:00:00:01", start.AsteriskId);
        Assert.Equal("astrapbx", start.Application);

        var varset = events.First(e => e.Type == "ChannelVarset");
        Assert.Equal(("AUDIOSOCKET_UUID", "0b1c6a6e-4b7e-4f0e-9d0e-1e2f3a4b5c6d"), (varset.Variable, varset.Value));
        Assert.Equal("AudioSocket", events.Last(e => e.Type == "ChannelDialplan").DialplanApp);
        Assert.True(events.Last(e => e.Type == "ChannelHangupRequest").Soft);
        var destroyed = events[^1];
        Assert.Equal(("ChannelDestroyed", 16, "Normal Clearing"), (destroyed.Type, destroyed.Cause, destroyed.CauseTxt));

        // The resync path reads Stasis arguments back from app_data.
        Assert.Equal(start.Args, Calls.StasisArgs.FromAppData(start.Channel.Dialplan.AppData, "astrapbx"));
    }

    [Fact]
    public void Recorded_rest_bodies_parse_into_the_ingress_models()
    {
        var rest = RecordedRest;
        var application = JsonSerializer.Deserialize(rest["application_in_stasis"]!["body"]!.ToJsonString(), AriJsonContext.Default.AriApplication)!;
        Assert.Equal(["1795468956.7"], application.ChannelIds);
        Assert.Equal("ba50c665-7ab4-4f04-a301-eccc395dc42b",
            JsonSerializer.Deserialize(rest["get_var_org"]!["body"]!.ToJsonString(), AriJsonContext.Default.AriVariable)!.Value);
        Assert.Equal("AudioSocket",
            JsonSerializer.Deserialize(rest["get_channel_after_leaving"]!["body"]!.ToJsonString(), AriJsonContext.Default.AriChannel)!.Dialplan!.AppName);
        Assert.Equal("Channel not in Stasis application",
            JsonSerializer.Deserialize(rest["answer_after_leaving_stasis"]!["body"]!.ToJsonString(), AriJsonContext.Default.AriError)!.Message);
        Assert.Equal("Authentication required",
            JsonSerializer.Deserialize(rest["bad_auth"]!["body"]!.GetValue<string>(), AriJsonContext.Default.AriError)!.Message);
    }

    [Fact]
    public async Task Simulator_emits_the_recorded_event_sequence_with_the_recorded_fields()
    {
        await using var asterisk = await AsteriskSimulator.StartAsync();
        await using var relay = new FakeRelay();
        using var http = Client(asterisk, asterisk.Options.Password);
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", BasicAuth(asterisk.Options.Username, asterisk.Options.Password));
        await socket.ConnectAsync(new Uri(asterisk.BaseUrl.Replace("http", "ws", StringComparison.Ordinal) + "/ari/events?app=astrapbx"), default);
        var received = new List<JsonObject>();
        var reading = ReadEventsAsync(socket, received);

        var call = await asterisk.StartCallAsync(new SimulatedCallOptions
        {
            StasisArgs = "ai_agent,73c9ef8e-003f-420a-a742-fe710186ccf0",
            Variables = { ["ORG_ID"] = "ba50c665-7ab4-4f04-a301-eccc395dc42b" },
        });
        var id = call.ChannelId;
        var session = Guid.NewGuid();
        await Status(http.PostAsync($"ari/channels/{id}/answer", null), 204);
        await Status(http.PostAsync($"ari/channels/{id}/variable?variable=AUDIOSOCKET_UUID&value={session}", null), 204);
        await Status(http.PostAsync($"ari/channels/{id}/variable?variable=AUDIOSOCKET_SERVICE&value={relay.Endpoint}", null), 204);
        await Status(http.PostAsync($"ari/applications/astrapbx/subscription?eventSource=channel:{id}", null), 200);
        await Status(http.PostAsync($"ari/channels/{id}/continue?context=audiosocket-ai&extension=s&priority=1", null), 204);
        await relay.ConnectedAsync(session).Within(Patience, "AudioSocket dialled");
        await call.HangUpAsync();
        await Eventually.Until(() => Task.FromResult(Types(received)), t => t.Contains("ChannelDestroyed"), Patience, "ChannelDestroyed");

        var recorded = RecordedEvents.Select(e => e!.AsObject()).ToList();
        var expectedTypes = recorded.Select(e => (string)e["type"]!).Where((t, i) => !(t == "ChannelHangupRequest" && recorded[i]["soft"] is not null)).ToList();

        // The recording ran an older [audiosocket-ai] (NoOp, Answer, AudioSocket); the product ships the TryExec form,
        // so the dialplan steps differ in number (NoOp, TryExec while the caller talks) but not in shape.
        Assert.Equal(Collapse(expectedTypes, "ChannelDialplan"), Collapse(Types(received), "ChannelDialplan"));
        Assert.Equal(["NoOp", "TryExec"], Snapshot(received).Where(e => (string)e["type"]! == "ChannelDialplan").Select(e => (string)e["dialplan_app"]!));
        Assert.Equal($"AudioSocket({session},{relay.Endpoint})", Snapshot(received).Last(e => (string)e["type"]! == "ChannelDialplan")["dialplan_app_data"]!.GetValue<string>());
        foreach (var type in expectedTypes.Distinct())
        {
            var sample = recorded.First(e => (string)e["type"]! == type);
            var simulated = Snapshot(received).First(e => (string)e["type"]! == type);
            Assert.Equal(Paths(sample), Paths(simulated));
        }

        Assert.All(Snapshot(received), e => Assert.Equal(asterisk.Options.AsteriskId, (string)e["asterisk_id"]!));
        socket.Abort();
        await reading;
    }

    [Fact]
    public async Task Simulator_answers_rest_calls_with_the_recorded_statuses_and_bodies()
    {
        await using var asterisk = await AsteriskSimulator.StartAsync();
        using var http = Client(asterisk, asterisk.Options.Password);
        var rest = RecordedRest;
        var call = await asterisk.StartCallAsync(new SimulatedCallOptions { Variables = { ["ORG_ID"] = "org-1" } });
        var id = call.ChannelId;

        await Status(http.PostAsync($"ari/channels/{id}/answer", null), 204);
        Assert.Equal(Paths(rest["get_channel"]!["body"]!.AsObject()), Paths(await Body(http.GetAsync($"ari/channels/{id}"), 200)));
        Assert.Equal("org-1", (string)(await Body(http.GetAsync($"ari/channels/{id}/variable?variable=ORG_ID"), 200))["value"]!);
        AssertSame(rest["get_var_missing"]!, await Body(http.GetAsync($"ari/channels/{id}/variable?variable=NOPE"), 404));
        var application = await Body(http.GetAsync("ari/applications/astrapbx"), 200);
        Assert.Equal(Paths(rest["application_in_stasis"]!["body"]!.AsObject()), Paths(application));
        Assert.Contains(id, application["channel_ids"]!.AsArray().Select(n => (string)n!));
        await Status(http.PostAsync($"ari/applications/astrapbx/subscription?eventSource=channel:{id}", null), 200);
        await Status(http.PostAsync($"ari/channels/{id}/continue?context=queues&extension=5001&priority=1", null), 204);
        Assert.Equal(new DialplanTarget("queues", "5001", 1), await call.Continued.Within(Patience, "continue"));
        AssertSame(rest["answer_after_leaving_stasis"]!, await Body(http.PostAsync($"ari/channels/{id}/answer", null), 409));
        AssertSame(rest["set_var_after_leaving_stasis"]!, await Body(http.PostAsync($"ari/channels/{id}/variable?variable=X&value=1", null), 409));

        await Status(http.DeleteAsync($"ari/channels/{id}?reason=normal"), 204);
        Assert.Equal(16, (await call.Ended.Within(Patience, "hangup")).Cause);
        AssertSame(rest["delete_gone"]!, await Body(http.DeleteAsync($"ari/channels/{id}?reason=normal"), 404));
        AssertSame(rest["continue_gone"]!, await Body(http.PostAsync($"ari/channels/{id}/continue?context=a&extension=s&priority=1", null), 404));

        using var wrong = Client(asterisk, "wrong-password");
        using var denied = await wrong.GetAsync("ari/applications/astrapbx");
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Equal(rest["bad_auth"]!["body"]!.GetValue<string>(), await denied.Content.ReadAsStringAsync());

        using var info = new HttpClient { BaseAddress = new Uri(asterisk.BaseUrl + "/") };
        var infoBody = await Body(info.GetAsync($"ari/asterisk/info?api_key={asterisk.Options.Username}:{asterisk.Options.Password}"), 200);
        Assert.Equal(asterisk.Options.AsteriskId, (string)infoBody["system"]!["entity_id"]!);
    }

    /// <summary>What the ingress's resync relies on, as Asterisk's res_stasis does it: an application whose socket drops
    /// is deactivated, not destroyed, while it has subscriptions; events meanwhile are dropped; the reconnected socket
    /// gets the subscribed channels' events again; <c>channel_ids</c> lists channels in its Stasis and channels it is
    /// subscribed to, in Stasis or not.</summary>
    [Fact]
    public async Task Simulator_keeps_the_application_subscriptions_across_a_socket_reconnect_as_Asterisk_does()
    {
        await using var asterisk = await AsteriskSimulator.StartAsync();
        using var http = Client(asterisk, asterisk.Options.Password);
        var (first, _, firstReading) = await OpenEventsAsync(asterisk);
        var inStasis = await asterisk.StartCallAsync();
        var subscribed = await asterisk.StartCallAsync();
        var unsubscribed = await asterisk.StartCallAsync();
        await Status(http.PostAsync($"ari/applications/astrapbx/subscription?eventSource=channel:{subscribed.ChannelId}", null), 200);
        await Status(http.PostAsync($"ari/channels/{subscribed.ChannelId}/continue?context=queues&extension=5001&priority=1", null), 204);
        await Status(http.PostAsync($"ari/channels/{unsubscribed.ChannelId}/continue?context=queues&extension=5001&priority=1", null), 204);

        first.Abort();
        await firstReading;
        await Eventually.Until(() => Task.FromResult(asterisk.ConnectedEventSockets), n => n == 0, Patience, "the socket to close");
        var unseen = await asterisk.StartCallAsync();
        Assert.DoesNotContain(unseen.Events, e => e.Delivered);
        var listed = (await Body(http.GetAsync("ari/applications/astrapbx"), 200))["channel_ids"]!.AsArray().Select(n => (string)n!).Order().ToArray();
        Assert.Equal(new[] { inStasis.ChannelId, subscribed.ChannelId, unseen.ChannelId }.Order(), listed);

        var (second, received, secondReading) = await OpenEventsAsync(asterisk);
        await unsubscribed.HangUpAsync(17);
        await subscribed.HangUpAsync(18);
        await Status(http.DeleteAsync($"ari/channels/{inStasis.ChannelId}?reason=congestion"), 204);
        await Eventually.Until(() => Task.FromResult(Snapshot(received).Count(e => (string)e["type"]! == "ChannelDestroyed")), n => n == 2, Patience, "two ChannelDestroyed");

        var destroyed = Snapshot(received).Where(e => (string)e["type"]! == "ChannelDestroyed")
            .Select(e => ((string)e["channel"]!["id"]!, (int)e["cause"]!, (string)e["cause_txt"]!)).ToArray();
        Assert.Equal([(subscribed.ChannelId, 18, "No user responding"), (inStasis.ChannelId, 34, "Circuit/channel congestion")], destroyed);
        Assert.DoesNotContain(Snapshot(received), e => (string)e["channel"]!["id"]! == unsubscribed.ChannelId);
        second.Abort();
        await secondReading;
    }

    private static async Task<(ClientWebSocket Socket, List<JsonObject> Received, Task Reading)> OpenEventsAsync(AsteriskSimulator asterisk)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", BasicAuth(asterisk.Options.Username, asterisk.Options.Password));
        await socket.ConnectAsync(new Uri(asterisk.BaseUrl.Replace("http", "ws", StringComparison.Ordinal) + "/ari/events?app=astrapbx"), default);
        await Eventually.Until(() => Task.FromResult(asterisk.ConnectedEventSockets), n => n == 1, Patience, "the socket to be accepted");
        var received = new List<JsonObject>();
        return (socket, received, ReadEventsAsync(socket, received));
    }

    internal static HttpClient Client(AsteriskSimulator asterisk, string password)
    {
        var http = new HttpClient { BaseAddress = new Uri(asterisk.BaseUrl + "/") };
        http.DefaultRequestHeaders.Authorization = AuthenticationHeaderValue.Parse(BasicAuth(asterisk.Options.Username, password));
        return http;
    }

    private static string BasicAuth(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    private static async Task Status(Task<HttpResponseMessage> request, int expected)
    {
        using var response = await request;
        Assert.Equal(expected, (int)response.StatusCode);
    }

    private static async Task<JsonObject> Body(Task<HttpResponseMessage> request, int expected)
    {
        using var response = await request;
        Assert.Equal(expected, (int)response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static void AssertSame(JsonNode recorded, JsonObject actual) =>
        Assert.Equal(recorded["body"]!.ToJsonString(), actual.ToJsonString());

    /// <summary>Every property path of a JSON value (<c>channel.dialplan.app_data</c>), the shape without the values.</summary>
    private static SortedSet<string> Paths(JsonNode node, string prefix = "")
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        if (node is JsonObject obj)
        {
            foreach (var (key, value) in obj)
            {
                var path = prefix.Length == 0 ? key : prefix + "." + key;
                paths.Add(path);
                if (value is not null)
                {
                    paths.UnionWith(Paths(value, path));
                }
            }
        }

        return paths;
    }

    private static List<JsonObject> Snapshot(List<JsonObject> received)
    {
        lock (received)
        {
            return [.. received];
        }
    }

    /// <summary>The sequence with each run of <paramref name="type"/> reduced to one.</summary>
    private static List<string> Collapse(List<string> types, string type) =>
        types.Where((t, i) => !(t == type && i > 0 && types[i - 1] == type)).ToList();

    private static List<string> Types(List<JsonObject> received) => Snapshot(received).Select(e => (string)e["type"]!).ToList();

    private static async Task ReadEventsAsync(ClientWebSocket socket, List<JsonObject> into)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, default);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var evt = JsonNode.Parse(buffer.AsSpan(0, result.Count))!.AsObject();
                lock (into)
                {
                    into.Add(evt);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
