using AstraPbx.LocalRun;
using AstraPbx.ServiceDefaults;
using AstraPbx.ServiceDefaults.Warmup;
using AstraPbx.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
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

    [Theory]
    [InlineData("Warmup:Timeout", "00:00:00")]
    [InlineData("Warmup:Timeout", "01:00:00")]
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
