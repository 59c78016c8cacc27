using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>The <see cref="IOutboundPublisher"/> of a service: one bounded in-memory queue, drained in order (FIFO) by
/// one loop that publishes each message until the broker confirms it. Each attempt is bounded by
/// <see cref="MessagingOptions.PublishAttemptTimeout"/> (with the broker gone MassTransit's publish would wait for it),
/// so the loop keeps counting retries; a timed-out attempt may still have reached the broker, so a message can arrive
/// twice (every consumer is idempotent). An outage is logged once when it starts and once when it ends. On stop it
/// drains for <see cref="MessagingOptions.DrainTimeout"/> before the bus stops (it is registered after MassTransit's
/// hosted service, and hosted services stop in reverse order).</summary>
public sealed class OutboundQueue : BackgroundService, IOutboundPublisher
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan DropLogInterval = TimeSpan.FromSeconds(1);

    private readonly Channel<OutboundMessage> _queue = Channel.CreateUnbounded<OutboundMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IBus _bus;
    private readonly MessagingOptions _options;
    private readonly OutboundTelemetry _telemetry;
    private readonly ILogger<OutboundQueue> _logger;
    private int _pending;
    private long _dropsSinceLine;
    private long _lastDropLine = long.MinValue;

    // Touched by the publishing loop only.
    private long _stalledSince;
    private long _retriesInStall;

    public OutboundQueue(IBus bus, IOptions<MessagingOptions> options, IMeterFactory meters, ILogger<OutboundQueue> logger)
    {
        _bus = bus;
        _options = options.Value;
        _logger = logger;
        _telemetry = new OutboundTelemetry(meters, () => Pending);
    }

    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Messages held at most (<see cref="MessagingOptions.OutboundCapacity"/>).</summary>
    public int Capacity => _options.OutboundCapacity;

    public bool Enqueue<T>(T message, string callId)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(message);

        // Counted before it is written, so the bound holds exactly however many threads enqueue at once.
        if (Interlocked.Increment(ref _pending) > _options.OutboundCapacity)
        {
            Interlocked.Decrement(ref _pending);
            Drop(typeof(T).Name, callId, stopped: false);
            return false;
        }

        if (!_queue.Writer.TryWrite(new OutboundMessage<T>(message, callId, Activity.Current?.Context ?? default)))
        {
            Interlocked.Decrement(ref _pending);
            Drop(typeof(T).Name, callId, stopped: true);
            return false;
        }

        return true;
    }

    /// <summary>Refuses new messages, gives the queued ones <see cref="MessagingOptions.DrainTimeout"/> (within the host's
    /// own shutdown time) to reach the broker, then stops the loop and logs how many were left unsent.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        if (ExecuteTask is { IsCompleted: false } loop && Pending > 0)
        {
            MessagingLog.OutboundDraining(_logger, Pending, _options.DrainTimeout.TotalSeconds);
            // The loop ends by itself once the completed queue is empty.
            await Task.WhenAny(loop, Task.Delay(_options.DrainTimeout, cancellationToken)).ConfigureAwait(false);
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        var left = Pending;
        if (left > 0)
        {
            MessagingLog.OutboundLeftUnsent(_logger, left);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The parent of each publish is the span that queued it (see OutboundMessage), never this loop's context.
        Activity.Current = null;
        await foreach (var message in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            await PublishUntilTakenAsync(message, stoppingToken).ConfigureAwait(false);
            Interlocked.Decrement(ref _pending);
        }
    }

    private async Task PublishUntilTakenAsync(OutboundMessage message, CancellationToken stoppingToken)
    {
        var delay = FirstRetryDelay;
        while (true)
        {
            using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                attempt.CancelAfter(_options.PublishAttemptTimeout);
                try
                {
                    await message.PublishAsync(_bus, attempt.Token).ConfigureAwait(false);
                    NoteTaken();
                    return;
                }
                catch (Exception e) when (IsPermanent(e))
                {
                    _telemetry.Dropped.Add(1, new("message_type", message.TypeName), new("reason", "rejected"));
                    MessagingLog.OutboundRejected(_logger, message.TypeName, message.CallId, e.GetType().Name);
                    return;
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // A timed-out attempt ends in OperationCanceledException; retried like any other failure.
                    NoteFailed(e, message.TypeName);
                }
            }

            await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
        }
    }

    // A message the bus cannot serialize or route never succeeds: retrying it would hold every later call event.
    private static bool IsPermanent(Exception e) => e is System.Runtime.Serialization.SerializationException or ArgumentException;

    private void NoteFailed(Exception e, string messageType)
    {
        _telemetry.Retries.Add(1, new KeyValuePair<string, object?>("message_type", messageType));
        if (_stalledSince == 0)
        {
            _stalledSince = Stopwatch.GetTimestamp();
            _retriesInStall = 0;
            MessagingLog.OutboundStalled(_logger, e.GetType().Name, Pending);
        }

        _retriesInStall++;
    }

    private void NoteTaken()
    {
        if (_stalledSince != 0)
        {
            MessagingLog.OutboundResumed(_logger, Stopwatch.GetElapsedTime(_stalledSince).TotalSeconds, Pending, _retriesInStall);
            _stalledSince = 0;
        }
    }

    private void Drop(string messageType, string callId, bool stopped)
    {
        _telemetry.Dropped.Add(1, new("message_type", messageType), new("reason", stopped ? "stopped" : "full"));
        Interlocked.Increment(ref _dropsSinceLine);

        // The first drop is logged at once, later ones at most once per DropLogInterval with how many there were.
        var last = Interlocked.Read(ref _lastDropLine);
        var now = Stopwatch.GetTimestamp();
        if ((last != long.MinValue && Stopwatch.GetElapsedTime(last, now) < DropLogInterval)
            || Interlocked.CompareExchange(ref _lastDropLine, now, last) != last)
        {
            return;
        }

        var dropped = Interlocked.Exchange(ref _dropsSinceLine, 0);
        if (stopped)
        {
            MessagingLog.OutboundStopped(_logger, messageType, callId, dropped);
        }
        else
        {
            MessagingLog.OutboundFull(_logger, messageType, callId, _options.OutboundCapacity, dropped);
        }
    }
}
