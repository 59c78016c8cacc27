using System.Net.Http.Headers;
using System.Text;
using AstraPbx.ServiceDefaults.Messaging;
using Testcontainers.RabbitMq;
using Xunit;

namespace AstraPbx.Testing;

/// <summary>A real RabbitMQ: the one <c>scripts/infra up</c> started, or a Testcontainers one where a Docker
/// engine is reachable. Each test gets its own virtual host from <see cref="CreateVirtualHostAsync"/>, so
/// tests never see each other's exchanges and can run in parallel.</summary>
public sealed class RabbitMqFixture : IAsyncLifetime
{
    private readonly List<string> _virtualHosts = [];
    private RabbitMqContainer? _container;
    private HttpClient? _management;
    private RabbitMqAddress _address = null!;

    /// <summary>The broker's root connection string (virtual host <c>/</c>).</summary>
    public string ConnectionString { get; private set; } = "";

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

        ConnectionString = amqp;
        _address = RabbitMqAddress.Parse(amqp);
        var managementUri = new Uri(management);
        _management = new HttpClient { BaseAddress = new Uri(managementUri.GetLeftPart(UriPartial.Authority) + "/") };
        var credentials = Uri.UnescapeDataString(managementUri.UserInfo);
        _management.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        using var overview = await _management.GetAsync("api/overview");
        if (!overview.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"RabbitMQ management API answered {(int)overview.StatusCode}. " + TestEnvironment.HowToStart);
        }
    }

    /// <summary>A new, empty virtual host with full rights for the broker's user; returns its connection string.</summary>
    public async Task<string> CreateVirtualHostAsync(string? prefix = null)
    {
        var name = $"{prefix ?? "test"}-{Guid.NewGuid():N}";
        var escaped = Uri.EscapeDataString(name);
        (await _management!.PutAsync($"api/vhosts/{escaped}", null)).EnsureSuccessStatusCode();
        using var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
        (await _management.PutAsync($"api/permissions/{escaped}/{Uri.EscapeDataString(_address.Username)}", permissions)).EnsureSuccessStatusCode();
        lock (_virtualHosts)
        {
            _virtualHosts.Add(name);
        }

        var scheme = _address.UseTls ? "amqps" : "amqp";
        return $"{scheme}://{Uri.EscapeDataString(_address.Username)}:{Uri.EscapeDataString(_address.Password)}@{_address.Host}:{_address.Port}/{escaped}";
    }

    /// <summary>The broker's address, for tests that put a proxy in front of it.</summary>
    public RabbitMqAddress Address => _address;

    public async Task DisposeAsync()
    {
        if (_management is not null)
        {
            foreach (var vhost in _virtualHosts)
            {
                using var _ = await _management.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(vhost)}");
            }

            _management.Dispose();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
    }
}
