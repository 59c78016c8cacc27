using System.Collections.Concurrent;
using AstraPbx.AriIngress.Calls;
using AstraPbx.Contracts.Calls;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>Records what would go on the bus; <see cref="Fail"/> makes every publish throw as a broker outage would.</summary>
internal sealed class RecordingPublisher : ICallEventPublisher
{
    public ConcurrentQueue<CallEnteredStasis> Entered { get; } = new();

    public ConcurrentQueue<CallEnded> Ended { get; } = new();

    public bool Fail { get; set; }

    public Task PublishAsync(CallEnteredStasis message, CancellationToken cancellationToken) => Record(Entered, message);

    public Task PublishAsync(CallEnded message, CancellationToken cancellationToken) => Record(Ended, message);

    private Task Record<T>(ConcurrentQueue<T> queue, T message)
    {
        if (Fail)
        {
            return Task.FromException(new InvalidOperationException("broker unreachable"));
        }

        queue.Enqueue(message);
        return Task.CompletedTask;
    }
}
