using AstraPbx.ServiceDefaults.Messaging;

namespace AstraPbx.Routing;

public static class ApplicationServiceExtensions
{
    /// <summary>Everything the Routing service is made of, on top of the service defaults.</summary>
    public static WebApplicationBuilder AddApplicationServices(this WebApplicationBuilder builder)
    {
        builder.AddMessageBus(x => x.AddConsumer<CallEnteredStasisConsumer>());
        return builder;
    }
}
