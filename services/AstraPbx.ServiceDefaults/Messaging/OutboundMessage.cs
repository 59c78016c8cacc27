using System.Diagnostics;
using MassTransit;
using MassTransit.Logging;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>A message waiting in the <see cref="OutboundQueue"/>: the message with its type, the call it belongs to
/// (for logs) and the span that was current when it was queued.</summary>
internal abstract class OutboundMessage(string callId, ActivityContext parent)
{
    public string CallId { get; } = callId;

    /// <summary>The span current at <see cref="IOutboundPublisher.Enqueue{T}"/>; default when there was none.</summary>
    public ActivityContext Parent { get; } = parent;

    public abstract string TypeName { get; }

    /// <summary>Publishes once. MassTransit's send span takes <see cref="Parent"/> as its parent: with no current
    /// activity it reads the parent from the <c>MT-Activity-Id</c> header (and overwrites it with its own span), so
    /// the publish hangs under the span that queued it even when that span has ended since.</summary>
    public abstract Task PublishAsync(IPublishEndpoint bus, CancellationToken cancellationToken);

    protected string TraceParent() =>
        $"00-{Parent.TraceId.ToHexString()}-{Parent.SpanId.ToHexString()}-{((Parent.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";
}

internal sealed class OutboundMessage<T>(T message, string callId, ActivityContext parent) : OutboundMessage(callId, parent)
    where T : class
{
    public override string TypeName => typeof(T).Name;

    public override Task PublishAsync(IPublishEndpoint bus, CancellationToken cancellationToken)
    {
        if (Parent == default)
        {
            return bus.Publish(message, cancellationToken);
        }

        var traceParent = TraceParent();
        return bus.Publish(message, context => context.Headers.Set(DiagnosticHeaders.ActivityId, traceParent), cancellationToken);
    }
}
