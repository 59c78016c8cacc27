using AstraPbx.LocalRun;
using System.ComponentModel.DataAnnotations;
using System.Net.Http.Headers;
using System.Text;
using AstraPbx.AriIngress.Ari;
using AstraPbx.AriIngress.Calls;
using AstraPbx.Simulators.Ari;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.AriIngress.Tests;

public sealed class BackoffTests
{
    [Fact]
    public void Delay_doubles_per_attempt_stays_within_half_to_full_and_is_capped()
    {
        var initial = TimeSpan.FromMilliseconds(500);
        var cap = TimeSpan.FromSeconds(30);
        Assert.Equal(TimeSpan.FromMilliseconds(250), Backoff.Delay(1, initial, cap, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(500), Backoff.Delay(1, initial, cap, 1));
        Assert.Equal(TimeSpan.FromMilliseconds(1000), Backoff.Delay(2, initial, cap, 0.999999999).RoundTo(1));
        Assert.Equal(TimeSpan.FromSeconds(15), Backoff.Delay(50, initial, cap, 0));
        Assert.Equal(TimeSpan.FromSeconds(30), Backoff.Delay(int.MaxValue, initial, cap, 1));
        for (var attempt = 1; attempt < 40; attempt++)
        {
            var d = Backoff.Delay(attempt, initial, cap, Random.Shared.NextDouble());
            Assert.InRange(d, TimeSpan.FromMilliseconds(250), cap);
        }
    }
}

public sealed class StasisArgsTests
{
    [Theory]
    [InlineData("astrapbx,ai_agent,3", "astrapbx", new[] { "ai_agent", "3" })]
    [InlineData("astrapbx,queue_timeout,7", "astrapbx", new[] { "queue_timeout", "7" })]
    [InlineData("astrapbx", "astrapbx", new string[0])]
    public void App_data_of_our_application_gives_the_arguments(string appData, string app, string[] expected) =>
        Assert.Equal(expected, StasisArgs.FromAppData(appData, app));

    [Theory]
    [InlineData("other,ai_agent,3")]
    [InlineData("")]
    [InlineData(null)]
    public void App_data_of_another_application_gives_nothing(string? appData) => Assert.Null(StasisArgs.FromAppData(appData, "astrapbx"));
}

public sealed class AriOptionsTests
{
    [Fact]
    public void Missing_password_is_reported_by_key_and_the_events_url_carries_no_credentials()
    {
        var options = new AriOptions { BaseUrl = "http://10.0.0.5:8088/", Password = "" };
        var results = new List<ValidationResult>();
        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        Assert.Contains(results, r => r.ErrorMessage == "Setting 'Ari:Password' is missing.");

        options.Password = "s3cret";
        Assert.Equal("ws://10.0.0.5:8088/ari/events?app=astrapbx&subscribeAll=false", options.EventsUri.ToString());
        Assert.Equal("http://10.0.0.5:8088/ari/", options.RestRoot.ToString());
    }

    [Fact]
    public void Edge_fallback_defaults_hang_up_after_2500_ms_and_a_target_is_whole_and_safe_or_absent()
    {
        var options = new AriOptions { Password = "p" };
        Assert.Empty(Errors(options));
        Assert.Equal((TimeSpan.FromMilliseconds(2500), false, 1, 2), (options.EdgeFallbackAfter, options.HasEdgeFallbackTarget, options.EdgeFallbackPriority, options.EdgeFallbackMaxPerCall));
        Assert.Equal("congestion", AriOptions.EdgeHangupReason);

        options.EdgeFallbackContext = "reception";
        Assert.Equal(["Settings 'Ari:EdgeFallbackContext' and 'Ari:EdgeFallbackExtension' go together: set both or neither."], Errors(options));
        options.EdgeFallbackExtension = "100";
        Assert.Empty(Errors(options));
        Assert.Equal("reception,100,1", options.EdgeFallbackTarget);

        options.EdgeFallbackExtension = "100,1,Hangup";
        Assert.Equal(["Setting 'Ari:EdgeFallbackExtension' may hold only letters, digits, '_', '-', '+', '*' and '#'."], Errors(options));
        options.EdgeFallbackExtension = "100";
        options.EdgeFallbackContext = "reception)";
        Assert.Equal(["Setting 'Ari:EdgeFallbackContext' may hold only letters, digits, '_', '-', '+', '*' and '#'."], Errors(options));
        options.EdgeFallbackContext = "reception";
        options.EdgeFallbackAfter = TimeSpan.Zero;
        options.EdgeFallbackMaxPerCall = 0;
        Assert.Equal(["Setting 'Ari:EdgeFallbackAfter' must be between 100 ms and 10 min.", "Setting 'Ari:EdgeFallbackMaxPerCall' must be between 1 and 100."], Errors(options));
    }

    private static string[] Errors(AriOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return [.. results.Select(r => r.ErrorMessage ?? "")];
    }
}

/// <summary>The client turns every ARI answer into a typed result carrying the channel id, and never throws.</summary>
public sealed class AriClientTests
{
    [Fact]
    public async Task Client_returns_typed_results_for_every_outcome()
    {
        await using var asterisk = await AsteriskSimulator.StartAsync();
        var ari = Client(asterisk.BaseUrl, asterisk.Options.Username, asterisk.Options.Password);
        var call = await asterisk.StartCallAsync(new SimulatedCallOptions { Variables = { ["ORG_ID"] = "o-1" } });
        var id = call.ChannelId;

        Assert.Equal(AriStatus.Ok, (await ari.AnswerAsync(id, default)).Status);
        Assert.Equal("o-1", (await ari.GetVariableAsync(id, "ORG_ID", default)).Value);
        var missing = await ari.GetVariableAsync(id, "NOPE", default);
        Assert.Equal((AriStatus.Ok, null), (missing.Status, missing.Value));
        Assert.Contains(id, (await ari.GetApplicationAsync("astrapbx", default)).Value!.ChannelIds!);
        Assert.Equal(asterisk.Options.AsteriskId, (await ari.GetAsteriskInfoAsync(default)).Value!.System!.EntityId);
        Assert.Equal(AriStatus.Ok, (await ari.SubscribeAsync("astrapbx", id, default)).Status);
        Assert.Equal(AriStatus.Ok, (await ari.ContinueAsync(id, "elsewhere", "s", 1, default)).Status);

        var conflict = await ari.SetVariableAsync(id, "X", "1", default);
        Assert.Equal(new AriResult(AriStatus.Conflict, id, 409, "Channel not in Stasis application"), conflict);
        Assert.Equal(AriStatus.Ok, (await ari.HangupAsync(id, "normal", default)).Status);
        Assert.Equal(new AriResult(AriStatus.NotFound, id, 404, "Channel not found"), await ari.HangupAsync(id, "normal", default));
        Assert.Equal(AriStatus.NotFound, (await ari.SubscribeAsync("astrapbx", id, default)).Status);
        Assert.Equal(AriStatus.NotFound, (await ari.GetChannelAsync(id, default)).Status);

        var denied = await Client(asterisk.BaseUrl, "astrapbx", "wrong").AnswerAsync(id, default);
        Assert.Equal((AriStatus.Unauthorized, id, "Authentication required"), (denied.Status, denied.ChannelId, denied.Message));

        var down = await Client($"http://127.0.0.1:{ServiceProcess.FreePort()}", "a", "b").AnswerAsync(id, default);
        Assert.Equal((AriStatus.Unreachable, id), (down.Status, down.ChannelId));
        Assert.True(down.IsTransient);
    }

    private static AriClient Client(string baseUrl, string user, string password)
    {
        var http = new HttpClient { BaseAddress = new Uri(baseUrl + "/ari/"), Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)));
        return new AriClient(http);
    }
}

internal static class TimeSpanExtensions
{
    public static TimeSpan RoundTo(this TimeSpan value, int milliseconds) =>
        TimeSpan.FromMilliseconds(Math.Round(value.TotalMilliseconds / milliseconds) * milliseconds);
}
