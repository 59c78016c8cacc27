using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Orchestration;
using MassTransit;

namespace AstraPbx.Routing.Consumers;

/// <summary>Keeps <see cref="RelayCapacityView"/> current. Every Routing instance needs every report, so each consumes
/// them on its own temporary queue (auto-deleted when the instance goes), not a shared one.</summary>
public sealed class RelayCapacityConsumer(RelayCapacityView view) : IConsumer<RelayCapacity>
{
    public Task Consume(ConsumeContext<RelayCapacity> context)
    {
        view.Update(context.Message);
        return Task.CompletedTask;
    }
}
