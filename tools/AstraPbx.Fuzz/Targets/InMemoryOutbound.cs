using System.Collections.Concurrent;
using AstraPbx.Contracts.Media;
using AstraPbx.ServiceDefaults.Messaging;

namespace AstraPbx.Fuzz.Targets;

/// <summary>Keeps the <c>AiSessionEnded</c> a session publishes instead of sending it to a broker.</summary>
internal sealed class InMemoryOutbound : IOutboundPublisher
{
    public ConcurrentQueue<AiSessionEnded> Ended { get; } = new();

    public int Pending => 0;

    public bool Enqueue<T>(T message, string callId)
        where T : class
    {
        if (message is AiSessionEnded ended)
        {
            Ended.Enqueue(ended);
        }

        return true;
    }
}
