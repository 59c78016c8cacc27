using System.Collections.Concurrent;
using AstraPbx.Contracts.Calls;
using AstraPbx.ServiceDefaults.Messaging;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>Records what would go on the bus, by message type; <see cref="Full"/> makes the queue refuse every message as
/// a full outbound queue does.</summary>
internal sealed class RecordingPublisher : IOutboundPublisher
{
    public ConcurrentQueue<CallEnteredStasis> Entered { get; } = new();

    public ConcurrentQueue<CallEnded> Ended { get; } = new();

    public ConcurrentQueue<FallbackTaken> Fallbacks { get; } = new();

    /// <summary>Every message queued, in order.</summary>
    public ConcurrentQueue<object> All { get; } = new();

    public bool Full { get; set; }

    public int Pending => 0;

    public bool Enqueue<T>(T message, string callId)
        where T : class
    {
        if (Full)
        {
            return false;
        }

        switch (message)
        {
            case CallEnteredStasis entered:
                Entered.Enqueue(entered);
                break;
            case CallEnded ended:
                Ended.Enqueue(ended);
                break;
            case FallbackTaken fallback:
                Fallbacks.Enqueue(fallback);
                break;
            default:
                throw new InvalidOperationException($"the ingress queued an unexpected {typeof(T).Name} for call {callId}");
        }

        All.Enqueue(message);
        return true;
    }
}
