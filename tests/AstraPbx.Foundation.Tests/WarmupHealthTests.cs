using System.Diagnostics;
using AstraPbx.LocalRun;
using AstraPbx.ServiceDefaults;
using AstraPbx.ServiceDefaults.Warmup;
using AstraPbx.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OpenTelemetry.Trace;
using Xunit;
using Status = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace AstraPbx.Foundation.Tests;

/// <summary>The shared warm-up: gRPC health says NOT_SERVING until a service's warm-up steps ran, and neither a failing
/// nor a hanging step keeps it there.</summary>
public sealed class WarmupHealthTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Service_is_not_serving_until_its_warmup_finished_and_serving_after()
    {
        var gate = new GatedStep();
        await using var service = await WarmService.StartAsync(s => s.AddSingleton<IWarmupStep>(gate));

        await gate.Entered.WaitAsync(Patience);
        Assert.Equal(Status.NotServing, await GrpcHealth.CheckAsync(service.Url));

        gate.Release();
        await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING after the warm-up");
        var finished = Assert.Single(service.Logged(9201));
        Assert.Contains("gated", finished.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failing_step_is_logged_and_does_not_keep_the_service_down()
    {
        var after = new GatedStep();
        after.Release();
        await using var service = await WarmService.StartAsync(s => s.AddWarmupStep<FailingStep>().AddSingleton<IWarmupStep>(after));

        await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING despite the failed step");
        var failed = Assert.Single(service.Logged(9202));
        Assert.IsType<InvalidOperationException>(failed.Exception);
        Assert.True(after.Entered.IsCompleted, "the step after the failing one did not run");
        Assert.Contains("failing failed", Assert.Single(service.Logged(9201)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hanging_step_is_cut_by_the_timeout()
    {
        var hanging = new GatedStep(ignoreCancellation: true);
        await using var service = await WarmService.StartAsync(
            s => s.AddSingleton<IWarmupStep>(hanging), ("Warmup:Timeout", "00:00:00.300"));

        await hanging.Entered.WaitAsync(Patience);
        await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING after the timeout");
        var timedOut = Assert.Single(service.Logged(9203));
        Assert.Equal(LogLevel.Warning, timedOut.Level);
        Assert.Contains("gated", timedOut.Message, StringComparison.Ordinal);
        Assert.False(hanging.Finished, "the hanging step finished: the test proves nothing");
    }

    [Fact]
    public async Task Disabled_warmup_does_not_wait_for_the_steps()
    {
        var never = new GatedStep();
        await using var service = await WarmService.StartAsync(s => s.AddSingleton<IWarmupStep>(never), ("Warmup:Enabled", "false"));

        await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING without a warm-up");
        Assert.False(never.Entered.IsCompleted);
        Assert.Single(service.Logged(9204));
    }

    [Fact]
    public async Task Repeatable_step_runs_in_rounds_until_a_round_compiles_almost_nothing()
    {
        // A quiet threshold no round can miss: settled after the two quiet rounds it takes.
        var settles = new RepeatingStep();
        await using (var service = await WarmService.StartAsync(s => s.AddSingleton<IWarmupStep>(settles),
            ("Warmup:SettlePasses", "7"), ("Warmup:SettlePause", "00:00:00"), ("Warmup:SettleQuietMethods", "100000")))
        {
            await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING after the rounds");
            Assert.Equal(1, settles.Runs);
            Assert.Equal([7, 7], settles.Rounds);
            Assert.Contains("settled after 2 rounds of 7 passes", Assert.Single(service.Logged(9201)).Message, StringComparison.Ordinal);
        }

        // A threshold no round can meet (fewer than 0 methods): every round runs, and the log says it did not settle.
        var never = new RepeatingStep();
        await using (var service = await WarmService.StartAsync(s => s.AddSingleton<IWarmupStep>(never),
            ("Warmup:SettleRounds", "3"), ("Warmup:SettlePasses", "2"), ("Warmup:SettlePause", "00:00:00"), ("Warmup:SettleQuietMethods", "0")))
        {
            await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING after the rounds");
            Assert.Equal([2, 2, 2], never.Rounds);
            Assert.Contains("not settled after 3 rounds", Assert.Single(service.Logged(9201)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Rounds_stop_when_their_budget_is_spent_and_the_warmup_still_finishes()
    {
        // Rounds that never settle (fewer than 0 methods) with no budget: the first round runs, no second one starts,
        // and the warm-up finishes (not cut by the timeout) saying why the rounds stopped.
        var never = new RepeatingStep();
        await using var service = await WarmService.StartAsync(s => s.AddSingleton<IWarmupStep>(never),
            ("Warmup:SettleRounds", "5"), ("Warmup:SettlePasses", "2"), ("Warmup:SettlePause", "00:00:00"),
            ("Warmup:SettleQuietMethods", "0"), ("Warmup:SettleBudget", "00:00:00"));

        await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING after the budget");
        Assert.Equal([2], never.Rounds);
        var finished = Assert.Single(service.Logged(9201)).Message;
        Assert.Contains("not settled after 1 round of 2 passes", finished, StringComparison.Ordinal);
        Assert.Contains("Warmup:SettleBudget (0 s) spent", finished, StringComparison.Ordinal);
        Assert.Empty(service.Logged(9203));
    }

    [Fact]
    public void Settle_budget_in_use_is_at_most_half_the_timeout()
    {
        Assert.Equal(TimeSpan.FromSeconds(8), new WarmupOptions().EffectiveSettleBudget);
        Assert.Equal(TimeSpan.FromSeconds(3), new WarmupOptions { Timeout = TimeSpan.FromSeconds(6) }.EffectiveSettleBudget);
        Assert.Equal(TimeSpan.FromSeconds(1), new WarmupOptions { SettleBudget = TimeSpan.FromSeconds(1) }.EffectiveSettleBudget);
    }

    [Fact]
    public async Task No_rounds_when_settling_is_off_or_the_first_pass_failed()
    {
        var off = new RepeatingStep();
        await using (var service = await WarmService.StartAsync(s => s.AddSingleton<IWarmupStep>(off), ("Warmup:SettleRounds", "0")))
        {
            await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING without rounds");
            Assert.Equal(1, off.Runs);
            Assert.Empty(off.Rounds);
            Assert.DoesNotContain("settled", Assert.Single(service.Logged(9201)).Message, StringComparison.Ordinal);
        }

        var broken = new RepeatingStep { FailFirstPass = true };
        await using (var service = await WarmService.StartAsync(s => s.AddSingleton<IWarmupStep>(broken), ("Warmup:SettlePause", "00:00:00")))
        {
            await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING after the failed pass");
            Assert.Single(service.Logged(9202));
            Assert.Empty(broken.Rounds);
        }
    }

    [Fact]
    public async Task Round_that_fails_is_logged_and_the_step_is_left_out_of_the_next_rounds()
    {
        var failing = new RepeatingStep { FailRounds = true };
        var other = new RepeatingStep();
        await using var service = await WarmService.StartAsync(s => s.AddSingleton<IWarmupStep>(failing).AddSingleton<IWarmupStep>(other),
            ("Warmup:SettleRounds", "3"), ("Warmup:SettlePasses", "1"), ("Warmup:SettlePause", "00:00:00"), ("Warmup:SettleQuietMethods", "0"));

        await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING despite the failed round");
        Assert.Single(failing.Rounds);
        Assert.Equal([1, 1, 1], other.Rounds);
        var failed = Assert.Single(service.Logged(9202));
        Assert.Contains("repeating (round 1)", failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Warmup_spans_are_recorded_but_not_exported()
    {
        var exported = new List<Activity>();
        var step = new TracingStep();
        await using var service = await WarmService.StartAsync(s => s.AddSingleton<IWarmupStep>(step)
            .ConfigureOpenTelemetryTracerProvider(t => t.AddSource(TracingStep.Source.Name).AddInMemoryExporter(exported)));

        await Eventually.Until(() => GrpcHealth.CheckAsync(service.Url), s => s == Status.Serving, Patience, "SERVING after the warm-up");
        // The call path's tracing code ran during the warm-up: the span was made and recorded, its tags set.
        Assert.True(step.SawRecordedSpan, "the warm-up's span was not recorded: its tracing code did not run");
        using (TracingStep.Source.StartActivity("call"))
        {
        }

        string[] names;
        lock (exported)
        {
            names = exported.Select(a => a.DisplayName).ToArray();
        }

        Assert.Contains("call", names);
        Assert.DoesNotContain("warm-up call", names);
        Assert.DoesNotContain(names, n => n.StartsWith("warmup ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Warmup:Timeout", "00:00:00")]
    [InlineData("Warmup:Timeout", "01:00:00")]
    [InlineData("Warmup:SettleRounds", "51")]
    [InlineData("Warmup:SettlePasses", "0")]
    [InlineData("Warmup:SettlePause", "00:01:00")]
    [InlineData("Warmup:SettleQuietRounds", "0")]
    [InlineData("Warmup:SettleBudget", "01:00:00")]
    public async Task Bad_setting_stops_the_service_at_start_naming_the_key(string key, string value)
    {
        var e = await Assert.ThrowsAnyAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => WarmService.StartAsync(_ => { }, (key, value)));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }

    /// <summary>A step that waits for <see cref="Release"/>; with <c>ignoreCancellation</c> it does not stop at the
    /// timeout either (a warm-up that hangs in code that takes no token).</summary>
    private sealed class GatedStep(bool ignoreCancellation = false) : IWarmupStep
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "gated";

        public Task Entered => _entered.Task;

        public bool Finished { get; private set; }

        public void Release() => _release.TrySetResult();

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            _entered.TrySetResult();
            await (ignoreCancellation ? _release.Task : _release.Task.WaitAsync(cancellationToken));
            Finished = true;
        }
    }

    /// <summary>A step that makes a span the way a call's code does, inside a warm-up trace.</summary>
    private sealed class TracingStep : IWarmupStep
    {
        public static readonly ActivitySource Source = new("AstraPbx.Tests.WarmupTracing");

        public string Name => "tracing";

        public bool SawRecordedSpan { get; private set; }

        public Task RunAsync(CancellationToken cancellationToken)
        {
            using var traced = WarmupTracing.Begin(Name);
            using var span = Source.StartActivity("warm-up call");
            span?.SetTag("astrapbx.call_id", "warmup");
            SawRecordedSpan = span is { Recorded: true, IsAllDataRequested: true };
            return Task.CompletedTask;
        }
    }

    /// <summary>A repeatable step that records its rounds' passes.</summary>
    private sealed class RepeatingStep : IRepeatableWarmupStep
    {
        private readonly List<int> _rounds = [];

        public string Name => "repeating";

        public bool FailFirstPass { get; init; }

        public bool FailRounds { get; init; }

        public int Runs { get; private set; }

        public IReadOnlyList<int> Rounds
        {
            get
            {
                lock (_rounds)
                {
                    return [.. _rounds];
                }
            }
        }

        public Task RunAsync(CancellationToken cancellationToken)
        {
            Runs++;
            return FailFirstPass ? throw new InvalidOperationException("first pass broke") : Task.CompletedTask;
        }

        public Task RepeatAsync(int passes, CancellationToken cancellationToken)
        {
            lock (_rounds)
            {
                _rounds.Add(passes);
            }

            return FailRounds ? throw new InvalidOperationException("round broke") : Task.CompletedTask;
        }
    }

    private sealed class FailingStep : IWarmupStep
    {
        public string Name => "failing";

        public Task RunAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("warm-up step broke");
    }

    /// <summary>The service defaults on a free loopback port, no bus, with fake logging.</summary>
    private sealed class WarmService(WebApplication app, string url) : IAsyncDisposable
    {
        public string Url => url;

        public IReadOnlyList<FakeLogRecord> Logged(int eventId) =>
            app.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Id.Id == eventId).ToList();

        public static async Task<WarmService> StartAsync(Action<IServiceCollection> steps, params (string Key, string Value)[] settings)
        {
            var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
            var builder = WebApplication.CreateBuilder();
            builder.WebHost.UseUrls(url);
            foreach (var (key, value) in settings)
            {
                builder.Configuration[key] = value;
            }

            builder.Logging.AddFakeLogging();
            builder.AddServiceDefaults();
            steps(builder.Services);
            var app = builder.Build();
            app.MapDefaultEndpoints();
            try
            {
                await app.StartAsync();
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }

            return new WarmService(app, url);
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
