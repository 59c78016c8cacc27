using System.Diagnostics;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>The <see cref="IOutboundPublisher"/> of a service: one bounded in-memory queue, drained in order by one
/// loop that publishes each message until the broker confirms it.</summary>
public sealed class OutboundQueue : BackgroundService, IOutboundPublisher
{
    private const int Capacity = 100_000;
    private readonly Channel<Func<IPublishEndpoint, CancellationToken, Task>> _queue =
        Channel.CreateBounded<Func<IPublishEndpoint, CancellationToken, Task>>(new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly IBus _bus;
    private readonly ILogger<OutboundQueue> _logger;
    private int _pending;

    public OutboundQueue(IBus bus, ILogger<OutboundQueue> logger)
    {
        _bus = bus;
        _logger = logger;
    }

    public int Pending => Volatile.Read(ref _pending);

    public bool Enqueue<T>(T message, string callId)
        where T : class
    {
        var parent = Activity.Current?.Context ?? default;
        Task Publish(IPublishEndpoint bus, CancellationToken token)
        {
            Activity.Current = null;
            using var activity = parent == default ? null : OutboundTelemetry.Source.StartActivity("outbound " + typeof(T).Name, ActivityKind.Internal, parent);
            return bus.Publish(message, token);
        }

        if (!_queue.Writer.TryWrite(Publish))
        {
            MessagingLog.OutboundFull(_logger, typeof(T).Name, callId, Capacity);
            return false;
        }

        Interlocked.Increment(ref _pending);
        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var publish in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            var delay = TimeSpan.FromMilliseconds(100);
            while (true)
            {
                try
                {
                    await publish(_bus, stoppingToken).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    MessagingLog.OutboundRetry(_logger, e.GetType().Name, delay.TotalMilliseconds);
                    await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
                }
            }

            Interlocked.Decrement(ref _pending);
        }
    }
}
