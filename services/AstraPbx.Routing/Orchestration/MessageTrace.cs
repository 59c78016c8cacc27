using System.Diagnostics;
using MassTransit;

namespace AstraPbx.Routing.Orchestration;

/// <summary>The trace a consumed message belongs to, as the call record keeps it.</summary>
internal static class MessageTrace
{
    /// <summary>The call's trace id: the consume span's, or, where nothing records spans, the one the message's
    /// W3C <c>traceparent</c> header carries.</summary>
    public static string? TraceIdOf(ConsumeContext context)
    {
        if (Activity.Current is { } current)
        {
            return current.TraceId.ToHexString();
        }

        var header = context.Headers.Get<string>("traceparent") ?? context.Headers.Get<string>("MT-Activity-Id");
        return ParentOf(header) is { } parent ? parent.TraceId.ToHexString() : null;
    }

    /// <summary>The span a W3C <c>traceparent</c> header names (https://www.w3.org/TR/trace-context/#traceparent-header),
    /// or null when the header is missing or malformed.</summary>
    public static ActivityContext? ParentOf(string? traceparent) =>
        ActivityContext.TryParse(traceparent, traceState: null, out var context) ? context : null;
}
