using System.Net.Http.Headers;
using System.Text;

namespace AstraPbx.LoadTool;

/// <summary>Finds the broker (argument, then <c>ASTRAPBX_RABBITMQ</c>, then <c>.infra/env</c>) and, for a relay the
/// tool starts itself, makes a private virtual host so the run never meets another relay's queue.</summary>
internal sealed class Broker(string connectionString, string? managementUrl)
{
    public string ConnectionString { get; } = connectionString;

    public string? ManagementUrl { get; } = managementUrl;

    public static Broker Find(string? argument)
    {
        var env = ReadEnvFile();
        var amqp = argument ?? Get("ASTRAPBX_RABBITMQ", env)
            ?? throw new InvalidOperationException("No broker: pass --rabbitmq, set ASTRAPBX_RABBITMQ, or run scripts/infra up (.infra/env).");
        return new Broker(amqp, Get("ASTRAPBX_RABBITMQ_MANAGEMENT", env));
    }

    /// <summary>Creates a fresh virtual host; returns its connection string and a disposer that deletes it.</summary>
    public async Task<(string ConnectionString, Func<Task> Delete)> CreateVirtualHostAsync()
    {
        if (ManagementUrl is null)
        {
            return (ConnectionString, () => Task.CompletedTask);
        }

        var amqp = new Uri(ConnectionString);
        var management = new Uri(ManagementUrl);
        var http = new HttpClient { BaseAddress = new Uri(management.GetLeftPart(UriPartial.Authority) + "/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(management.UserInfo))));
        var name = $"loadtool-{Guid.NewGuid():N}";
        (await http.PutAsync($"api/vhosts/{name}", null).ConfigureAwait(false)).EnsureSuccessStatusCode();
        var user = Uri.UnescapeDataString(amqp.UserInfo.Split(':')[0]);
        using var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
        (await http.PutAsync($"api/permissions/{name}/{Uri.EscapeDataString(user)}", permissions).ConfigureAwait(false)).EnsureSuccessStatusCode();
        var builder = new UriBuilder(amqp) { Path = "/" + name };
        return (builder.Uri.ToString(), async () =>
        {
            using var _ = await http.DeleteAsync($"api/vhosts/{name}").ConfigureAwait(false);
            http.Dispose();
        });
    }

    private static string? Get(string name, IReadOnlyDictionary<string, string> env) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : env.GetValueOrDefault(name);

    private static Dictionary<string, string> ReadEnvFile()
    {
        var values = new Dictionary<string, string>();
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, ".infra", "env");
            if (!File.Exists(path))
            {
                continue;
            }

            foreach (var line in File.ReadAllLines(path))
            {
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                if (!line.StartsWith('#') && eq > 0)
                {
                    values[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('\'', '"');
                }
            }

            break;
        }

        return values;
    }
}
