using AstraPbx.ServiceDefaults.Health;
using Microsoft.AspNetCore.Builder;

namespace AstraPbx.ServiceDefaults;

/// <summary>What every service's <c>Program.cs</c> does, once: a verb runs instead of the service, otherwise the
/// service defaults, the service's own parts, the default endpoints, and run until shutdown.</summary>
public static class ServiceHost
{
    /// <summary>Runs the verb that <paramref name="args"/> start with (<c>health</c>, see <see cref="HealthCommand"/>,
    /// or one of <paramref name="commands"/>) and returns its exit code. Otherwise builds the service
    /// (<see cref="Extensions.AddServiceDefaults"/>, then <paramref name="addServices"/>), maps
    /// <see cref="Extensions.MapDefaultEndpoints"/> and then <paramref name="mapEndpoints"/>, and runs it until
    /// shutdown: exit code 0.</summary>
    public static async Task<int> RunAsync(
        string[] args,
        Action<WebApplicationBuilder> addServices,
        Action<WebApplication>? mapEndpoints = null,
        params ICliCommand[] commands)
    {
        if (HealthCommand.IsRequested(args))
        {
            return await HealthCommand.RunAsync(args).ConfigureAwait(false);
        }

        foreach (var command in commands)
        {
            if (command.IsRequested(args))
            {
                return await command.RunAsync(args).ConfigureAwait(false);
            }
        }

        var builder = WebApplication.CreateBuilder(args);
        builder.AddServiceDefaults();
        addServices(builder);

        var app = builder.Build();
        app.MapDefaultEndpoints();
        mapEndpoints?.Invoke(app);
        await app.RunAsync().ConfigureAwait(false);
        return 0;
    }
}
