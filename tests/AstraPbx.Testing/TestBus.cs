using AstraPbx.LocalRun.Infrastructure;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AstraPbx.Testing;

/// <summary>A <see cref="LocalBus"/> (wired exactly as the services wire theirs, started and connected) under the
/// name the tests use.</summary>
public sealed class TestBus : LocalBus
{
    private TestBus(IHost host)
        : base(host)
    {
    }

    public static new async Task<TestBus> StartAsync(string connectionString, Action<IBusRegistrationConfigurator>? configure = null, Action<IServiceCollection>? services = null) =>
        new(await StartHostAsync(connectionString, configure, services));
}
