using AstraPbx.ServiceDefaults.Messaging;

namespace AstraPbx.MediaRelay;

public static class ApplicationServiceExtensions
{
    /// <summary>Everything the MediaRelay service is made of, on top of the service defaults.</summary>
    public static WebApplicationBuilder AddApplicationServices(this WebApplicationBuilder builder)
    {
        builder.AddMessageBus(x => x.AddConsumer<StartAiSessionConsumer>());
        return builder;
    }
}
