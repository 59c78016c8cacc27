using AstraPbx.AriIngress.Ari;
using AstraPbx.AriIngress.Calls;
using AstraPbx.AriIngress.Tests.CallHandling;
using AstraPbx.AriIngress.Warmup;
using AstraPbx.ServiceDefaults.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace AstraPbx.AriIngress.Tests;

/// <summary>The ingress's call warm-up takes two synthetic calls through the real call classes to their end on its own
/// fakes, and leaves the service's own call table, publisher and ARI client alone.</summary>
public sealed class IngressWarmupTests
{
    [Fact]
    public async Task Call_warmup_decides_and_ends_two_calls_without_touching_the_service()
    {
        var publisher = new RecordingPublisher();
        var stub = new StubAri();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(Options.Create(new AriOptions { Password = "secret" }))
            .AddSingleton(TimeProvider.System)
            .AddSingleton<IHostApplicationLifetime, Lifetime>()
            .AddSingleton<IOutboundPublisher>(publisher)
            .AddSingleton(stub.Client)
            .AddSingleton<CallTable>()
            .BuildServiceProvider();
        var table = services.GetRequiredService<CallTable>();

        // Throws when a synthetic call is not published, decided and ended; the timeout catches a hang.
        await new IngressCallWarmup(services).RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Empty(publisher.All);
        Assert.Equal(0, table.TrackedCalls);
        Assert.Empty(stub.Requests);
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
