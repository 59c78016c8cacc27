namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>Publishes the events that carry a call's life (<c>CallEnteredStasis</c>, <c>CallEnded</c>,
/// <c>CallRouted</c>, <c>AiSessionEnded</c>, <c>FallbackTaken</c>) without making the caller wait for the broker:
/// the message is queued and published in order, retried until the broker takes it. At least once: an attempt that
/// timed out may have reached the broker, so a message can arrive twice. The queue is bounded; when it is full the
/// message is refused, counted and logged. Settings: <see cref="MessagingOptions"/>.</summary>
public interface IOutboundPublisher
{
    /// <summary>Queues <paramref name="message"/> and returns at once. The current span becomes the parent of the
    /// publish. <paramref name="callId"/> names the call in logs. False when the queue is full or the service is stopping
    /// (the message is dropped, counted in <c>astrapbx.outbound.dropped</c> and logged).</summary>
    bool Enqueue<T>(T message, string callId)
        where T : class;

    /// <summary>Messages queued and not yet confirmed by the broker.</summary>
    int Pending { get; }
}
