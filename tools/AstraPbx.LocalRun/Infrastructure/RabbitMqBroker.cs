using System.Net.Http.Headers;
using System.Text;
using AstraPbx.ServiceDefaults.Messaging;

namespace AstraPbx.LocalRun.Infrastructure;

/// <summary>A running RabbitMQ and, when its management API is known, throwaway virtual hosts on it: each run or test
/// gets its own, so it never meets another's queues, and every virtual host made here is deleted on dispose.</summary>
public sealed class RabbitMqBroker : IAsyncDisposable
{
    private readonly List<string> _virtualHosts = [];
    private readonly HttpClient? _management;

    /// <param name="connectionString">The broker's AMQP URL.</param>
    /// <param name="managementUrl">The management API with its credentials (<c>http://user:password@host:port/</c>);
    /// without it the broker can make no virtual hosts.</param>
    public RabbitMqBroker(string connectionString, string? managementUrl)
    {
        ConnectionString = connectionString;
        Address = RabbitMqAddress.Parse(connectionString);
        if (managementUrl is not null)
        {
            var management = new Uri(managementUrl);
            _management = new HttpClient { BaseAddress = new Uri(management.GetLeftPart(UriPartial.Authority) + "/") };
            _management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(management.UserInfo))));
        }
    }

    /// <summary>The broker as <see cref="LocalEnvironment"/> finds it (<paramref name="connectionString"/> overrides
    /// its AMQP URL); null when it names no AMQP URL.</summary>
    public static RabbitMqBroker? FromEnvironment(string? connectionString = null)
    {
        var amqp = connectionString ?? LocalEnvironment.Get(LocalEnvironment.RabbitMqVariable);
        return amqp is null ? null : new RabbitMqBroker(amqp, LocalEnvironment.Get(LocalEnvironment.RabbitMqManagementVariable));
    }

    /// <summary>The broker's connection string as given (virtual host <c>/</c> for the local broker).</summary>
    public string ConnectionString { get; }

    /// <summary>The broker's address, for callers that put a proxy in front of it.</summary>
    public RabbitMqAddress Address { get; }

    /// <summary>True when the management API is known, so <see cref="CreateVirtualHostAsync"/> works.</summary>
    public bool CanCreateVirtualHosts => _management is not null;

    /// <summary>Fails with the status when the management API does not answer.</summary>
    public async Task CheckManagementAsync()
    {
        using var overview = await Management.GetAsync("api/overview").ConfigureAwait(false);
        if (!overview.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"RabbitMQ management API answered {(int)overview.StatusCode}. " + LocalEnvironment.HowToStart);
        }
    }

    /// <summary>A new, empty virtual host <c>prefix-guid</c> with full rights for the broker's user; returns its
    /// connection string.</summary>
    public async Task<string> CreateVirtualHostAsync(string? prefix = null)
    {
        var name = $"{prefix ?? "test"}-{Guid.NewGuid():N}";
        var escaped = Uri.EscapeDataString(name);
        (await Management.PutAsync($"api/vhosts/{escaped}", null).ConfigureAwait(false)).EnsureSuccessStatusCode();
        using var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
        (await Management.PutAsync($"api/permissions/{escaped}/{Uri.EscapeDataString(Address.Username)}", permissions).ConfigureAwait(false))
            .EnsureSuccessStatusCode();
        lock (_virtualHosts)
        {
            _virtualHosts.Add(name);
        }

        var scheme = Address.UseTls ? "amqps" : "amqp";
        return $"{scheme}://{Uri.EscapeDataString(Address.Username)}:{Uri.EscapeDataString(Address.Password)}@{Address.Host}:{Address.Port}/{escaped}";
    }

    private HttpClient Management =>
        _management ?? throw new InvalidOperationException("No RabbitMQ management API: set " + LocalEnvironment.RabbitMqManagementVariable + ".");

    /// <summary>Deletes every virtual host made here.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_management is null)
        {
            return;
        }

        foreach (var vhost in _virtualHosts)
        {
            using var _ = await _management.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(vhost)}").ConfigureAwait(false);
        }

        _management.Dispose();
    }
}
