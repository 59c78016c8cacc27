using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>The <see cref="IOutboundPublisher"/> of a service: one bounded in-memory queue in
/// <see cref="MessagingOptions.OutboundLanes"/> lanes. A call's messages always take the same lane (by call id), and each
/// lane is drained in order (FIFO) by its own loop that publishes each message until the broker confirms it: a call's
/// events keep their order, and the lanes together keep up with a busy PBX (a confirmed publish to a durable queue
/// waits for the broker's disk, 5-8 ms here, so one lane alone would carry only ~150 messages a second). Each attempt is bounded by
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

    private readonly Channel<OutboundMessage>[] _lanes;
    private readonly IBus _bus;
    private readonly MessagingOptions _options;
    private readonly OutboundTelemetry _telemetry;
    private readonly ILogger<OutboundQueue> _logger;
    private int _pending;
    private long _dropsSinceLine;
    private long _lastDropLine = long.MinValue;

    // Shared by the lanes' loops.
    private int _failingLanes;
    private int _mostWaiting;
    private long _stalledSince;
    private long _retriesInStall;

    public OutboundQueue(IBus bus, IOptions<MessagingOptions> options, IMeterFactory meters, ILogger<OutboundQueue> logger)
    {
        _bus = bus;
        _options = options.Value;
        _logger = logger;
        _telemetry = new OutboundTelemetry(meters, () => Pending);
        _lanes = new Channel<OutboundMessage>[_options.OutboundLanes];
        for (var i = 0; i < _lanes.Length; i++)
        {
            _lanes[i] = Channel.CreateUnbounded<OutboundMessage>(new UnboundedChannelOptions { SingleReader = true });
        }
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

        var lane = _lanes[(int)((uint)StringComparer.Ordinal.GetHashCode(callId) % (uint)_lanes.Length)];
        if (!lane.Writer.TryWrite(new OutboundMessage<T>(message, callId, Activity.Current?.Context ?? default)))
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
        foreach (var lane in _lanes)
        {
            lane.Writer.TryComplete();
        }

        if (ExecuteTask is { IsCompleted: false } loop && Pending > 0)
        {
            MessagingLog.OutboundDraining(_logger, Pending, _options.DrainTimeout.TotalSeconds);
            // The loops end by themselves once their completed lanes are empty.
            await Task.WhenAny(loop, Task.Delay(_options.DrainTimeout, cancellationToken)).ConfigureAwait(false);
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        var left = Pending;
        if (left > 0)
        {
            MessagingLog.OutboundLeftUnsent(_logger, left);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Array.ConvertAll(_lanes, lane => Task.Run(() => DrainAsync(lane.Reader, stoppingToken), CancellationToken.None)));

    private async Task DrainAsync(ChannelReader<OutboundMessage> lane, CancellationToken stoppingToken)
    {
        // The parent of each publish is the span that queued it (see OutboundMessage), never this loop's context.
        Activity.Current = null;
        await foreach (var message in lane.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            await PublishUntilTakenAsync(message, stoppingToken).ConfigureAwait(false);
            Interlocked.Decrement(ref _pending);
        }
    }

    private async Task PublishUntilTakenAsync(OutboundMessage message, CancellationToken stoppingToken)
    {
        var delay = FirstRetryDelay;
        var failing = false;
        try
        {
            while (true)
            {
                using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    attempt.CancelAfter(_options.PublishAttemptTimeout);
                    try
                    {
                        await message.PublishAsync(_bus, attempt.Token).ConfigureAwait(false);
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
                        _telemetry.Retries.Add(1, new KeyValuePair<string, object?>("message_type", message.TypeName));
                        Interlocked.Increment(ref _retriesInStall);
                        NoteWaiting();
                        if (!failing)
                        {
                            failing = true;
                            LaneFailing(e);
                        }
                    }
                }

                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
        finally
        {
            if (failing)
            {
                LaneRecovered();
            }
        }
    }

    // A message the bus cannot serialize or route never succeeds: retrying it would hold every later call event.
    private static bool IsPermanent(Exception e) => e is System.Runtime.Serialization.SerializationException or ArgumentException;

    // An outage starts when the first lane fails and ends when the last failing lane gets its message through: one
    // line each, however many lanes were held.
    private void LaneFailing(Exception e)
    {
        if (Interlocked.Increment(ref _failingLanes) == 1)
        {
            Interlocked.Exchange(ref _stalledSince, Stopwatch.GetTimestamp());
            MessagingLog.OutboundStalled(_logger, e.GetType().Name, Pending);
        }
    }

    private void LaneRecovered()
    {
        if (Interlocked.Decrement(ref _failingLanes) == 0)
        {
            MessagingLog.OutboundResumed(_logger, Stopwatch.GetElapsedTime(Interlocked.Read(ref _stalledSince)).TotalSeconds,
                Interlocked.Exchange(ref _mostWaiting, 0), Interlocked.Exchange(ref _retriesInStall, 0));
        }
    }

    // The most messages seen waiting during the outage, for the line that reports its end.
    private void NoteWaiting()
    {
        var pending = Pending;
        var most = Volatile.Read(ref _mostWaiting);
        while (pending > most)
        {
            var seen = Interlocked.CompareExchange(ref _mostWaiting, pending, most);
            if (seen == most)
            {
                return;
            }

            most = seen;
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
