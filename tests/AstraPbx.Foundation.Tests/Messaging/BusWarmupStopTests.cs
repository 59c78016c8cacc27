using AstraPbx.ServiceDefaults.Warmup;
using AstraPbx.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AstraPbx.Foundation.Tests.Messaging;

/// <summary>A service stopped while its bus warm-up runs (a deploy rolled back at once, a test's short-lived relay)
/// removes the warm-up's temporary endpoint before its bus stops: a bus stopped while that endpoint was still declaring
/// its topology never finished stopping (seen in the relay's tests, a hang dump: the declaration of the ping's exchange
/// waiting under the bus's stop).</summary>
public sealed class BusWarmupStopTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Stopping_during_the_bus_warmup_ends_it_before_the_bus_stops_and_the_stop_finishes()
    {
        var observer = new PreStopObserver();
        await using var service = await ServiceBus.StartAsync(await rabbit.CreateVirtualHostAsync("warmup-stop"),
            configure: x => x.AddBusObserver(_ => observer), services: s => s.AddWarmup());
        await service.WaitHealthyAsync(Patience, "the bus to connect");
        var warmup = service.Services.GetRequiredService<BusWarmup>();
        observer.Warmup = warmup;

        // Its temporary endpoint is being connected (a queue, the ping's exchange and binding) when the stop begins.
        var run = warmup.RunAsync(new BusWarmupPlan(), CancellationToken.None);
        Assert.Equal(1, warmup.Running);
        await service.StopAsync().WaitAsync(Patience);

        Assert.True(run.IsCompleted, "the stop returned with the warm-up still running");
        Assert.Equal(0, observer.RunningAtPreStop);
        Assert.Equal(0, warmup.Running);
    }

    private sealed class PreStopObserver : IBusObserver
    {
        public BusWarmup? Warmup { get; set; }

        /// <summary>Warm-up runs not finished when the bus began to stop (-1: it has not).</summary>
        public int RunningAtPreStop { get; private set; } = -1;

        public Task PreStop(IBus bus)
        {
            RunningAtPreStop = Warmup?.Running ?? -1;
            return Task.CompletedTask;
        }

        public void PostCreate(IBus bus)
        {
        }

        public void CreateFaulted(Exception exception)
        {
        }

        public Task PreStart(IBus bus) => Task.CompletedTask;

        public Task PostStart(IBus bus, Task<BusReady> busReady) => Task.CompletedTask;

        public Task StartFaulted(IBus bus, Exception exception) => Task.CompletedTask;

        public Task PostStop(IBus bus) => Task.CompletedTask;

        public Task StopFaulted(IBus bus, Exception exception) => Task.CompletedTask;
    }
}
