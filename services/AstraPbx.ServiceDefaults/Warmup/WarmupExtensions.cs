using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AstraPbx.ServiceDefaults.Warmup;

public static class WarmupExtensions
{
    /// <summary>The warm-up machinery (options <c>Warmup</c>, <see cref="WarmupService"/>, the <c>warmup</c> health
    /// check). Called by <see cref="Extensions.AddServiceDefaults"/>; services add their steps with
    /// <see cref="AddWarmupStep{TStep}"/>.</summary>
    public static IServiceCollection AddWarmup(this IServiceCollection services)
    {
        services.AddOptions<WarmupOptions>()
            .BindConfiguration(WarmupOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton<WarmupState>();
        // BusWarmup's consumers are made in a DI scope, as the services' own are.
        services.TryAddScoped(typeof(WarmupConsumer<>));
        services.AddHostedService<WarmupService>();
        services.AddHealthChecks().AddCheck<WarmupHealthCheck>(WarmupHealthCheck.Name);
        return services;
    }

    /// <summary>Adds a step to the service's warm-up; steps run in the order they are added.</summary>
    public static IServiceCollection AddWarmupStep<TStep>(this IServiceCollection services)
        where TStep : class, IWarmupStep
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IWarmupStep, TStep>());
        return services;
    }
}
