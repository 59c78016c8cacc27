using AstraPbx.LocalRun.Infrastructure;
using AstraPbx.ServiceDefaults.Messaging;
using Testcontainers.RabbitMq;
using Xunit;

namespace AstraPbx.Testing;

/// <summary>A real RabbitMQ: the one <c>scripts/infra up</c> started, or a Testcontainers one where a Docker
/// engine is reachable. Each test gets its own virtual host from <see cref="CreateVirtualHostAsync"/>, so
/// tests never see each other's exchanges and can run in parallel.</summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    private RabbitMqContainer? _container;
    private RabbitMqBroker _broker = null!;

    /// <summary>The broker's root connection string (virtual host <c>/</c>).</summary>
    public string ConnectionString => _broker.ConnectionString;

    /// <summary>The broker's address, for tests that put a proxy in front of it.</summary>
    public RabbitMqAddress Address => _broker.Address;

    public async Task InitializeAsync()
    {
        var amqp = TestEnvironment.Get(TestEnvironment.RabbitMqVariable);
        var management = TestEnvironment.Get(TestEnvironment.RabbitMqManagementVariable);
        if (amqp is null || management is null)
        {
            if (!TestEnvironment.DockerEngineReachable())
            {
                throw new InvalidOperationException("No RabbitMQ for the tests. " + TestEnvironment.HowToStart);
            }

            _container = new RabbitMqBuilder("rabbitmq:3.13-management").WithUsername("astrapbx").WithPassword("astrapbx").Build();
            await _container.StartAsync();
            var host = _container.Hostname;
            amqp = $"amqp://astrapbx:astrapbx@{host}:{_container.GetMappedPublicPort(5672)}/";
            management = $"http://astrapbx:astrapbx@{host}:{_container.GetMappedPublicPort(15672)}/";
        }

        _broker = new RabbitMqBroker(amqp, management);
        await _broker.CheckManagementAsync();
    }

    /// <summary>A new, empty virtual host with full rights for the broker's user; returns its connection string.</summary>
    public Task<string> CreateVirtualHostAsync(string? prefix = null) => _broker.CreateVirtualHostAsync(prefix);

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }
}
