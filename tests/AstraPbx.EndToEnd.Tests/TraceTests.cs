using AstraPbx.LocalRun;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.EndToEnd.Tests;

/// <summary>Issue 6, 2: one trace per call across the three services, with the expected shape, and no secret in it.</summary>
[Collection(nameof(OneRelayCollection))]
public sealed class TraceTests(OneRelayDeployment fixture)
{
    [Fact]
    public async Task A_call_is_one_trace_across_ingress_routing_and_relay_with_no_secret_in_it()
    {
        var deployment = fixture.Deployment;
        var traces = deployment.Traces!;
        var botId = await deployment.IdOfAsync("users", "1003");
        var (call, caller, bot) = await Calls.DialBotAsync(deployment, $"ai_agent,{botId}", "1003");
        await bot.FirstAudio.Within(Calls.Patience, "audio to flow");
        await call.HangUpAsync();
        var record = await Calls.RecordAsync(deployment, call.ChannelId, r => r["ended_at"] is not null && r["ai_ended_at"] is not null, "ended");
        var traceId = (string)record["trace_id"]!;

        // Spans are exported in batches, each when it ends (a receive span after its process span): wait until the
        // media session, the root and every parent of the call's spans have arrived. An orphan that never gets its
        // parent makes this time out.
        var spans = await Eventually.Until(
            () => Task.FromResult(traces.Spans.Where(s => s.TraceId == traceId).ToList()),
            s => s.Any(x => x.Name == "media-session") && s.Any(x => x.Service == "AstraPbx.AriIngress" && x.Name == "call")
                && s.All(x => x.ParentSpanId.Length == 0 || x.Name == "call" || s.Any(p => p.SpanId == x.ParentSpanId)),
            Calls.Patience,
            "the call's spans from every service, each with its parent");

        var byId = spans.ToDictionary(s => s.SpanId);
        var root = Assert.Single(spans, s => s.ParentSpanId.Length == 0 || !byId.ContainsKey(s.ParentSpanId) && s.Name == "call");
        Assert.Equal("AstraPbx.AriIngress", root.Service);
        Assert.Equal(call.ChannelId, root.Attributes.GetValueOrDefault("astrapbx.call_id"));

        // Every other span hangs under another span of the same trace.
        Assert.All(spans.Where(s => s != root), s => Assert.True(byId.ContainsKey(s.ParentSpanId), $"orphan span {s}"));

        string[] ServicesAbove(ReceivedSpan span)
        {
            var chain = new List<string>();
            for (var s = span; byId.TryGetValue(s.ParentSpanId, out var parent); s = parent)
            {
                chain.Add(parent.Service);
            }

            return [.. chain];
        }

        // ingress -> routing -> relay: the media session sits under the relay's consume, under routing, under the ingress.
        var media = Assert.Single(spans, s => s.Name == "media-session");
        Assert.Equal("AstraPbx.MediaRelay", media.Service);
        var above = ServicesAbove(media);
        Assert.Contains("AstraPbx.Routing", above);
        Assert.Equal("AstraPbx.AriIngress", above[^1]);

        // routing -> ingress: the ConnectToRelay consume in the ingress hangs under routing.
        Assert.Contains(spans, s => s.Service == "AstraPbx.AriIngress" && s.ParentSpanId.Length > 0 && ServicesAbove(s).Contains("AstraPbx.Routing"));

        // ARI HTTP spans in the ingress, Npgsql spans in routing.
        Assert.Contains(spans, s => s.Service == "AstraPbx.AriIngress" && s.Attributes.ContainsKey("http.request.method"));
        Assert.Contains(spans, s => s.Service == "AstraPbx.Routing" && s.Attributes.GetValueOrDefault("db.system") is "postgresql" || s.Attributes.GetValueOrDefault("db.system.name") is "postgresql");

        // No secret anywhere in any exported span of any call.
        Assert.DoesNotContain(traces.Spans, s => s.Attributes.Values.Any(v => v.Contains(FakeGateway.Secret, StringComparison.Ordinal) || v.Contains(deployment.AriPassword, StringComparison.Ordinal)) || s.Name.Contains(FakeGateway.Secret, StringComparison.Ordinal));
        Assert.DoesNotContain(FakeGateway.Secret, deployment.AllOutput(), StringComparison.Ordinal);
        Assert.DoesNotContain(deployment.AriPassword, deployment.AllOutput(), StringComparison.Ordinal);
    }
}
