using AstraPbx.ServiceDefaults.Messaging;

namespace AstraPbx.AriIngress;

public static class ApplicationServiceExtensions
{
    /// <summary>Everything the AriIngress service is made of, on top of the service defaults.</summary>
    public static WebApplicationBuilder AddApplicationServices(this WebApplicationBuilder builder)
    {
        builder.AddMessageBus(x => x.AddConsumer<HangupCallConsumer>());
        return builder;
    }
}
