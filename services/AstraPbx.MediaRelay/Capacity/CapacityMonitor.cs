using System.Diagnostics;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Sessions;
using MassTransit;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.ServiceDefaults.Warmup;
using Microsoft.Extensions.Options;

namespace AstraPbx.MediaRelay.Capacity;

/// <summary>Measures the relay's headroom four times a second over <see cref="CapacityOptions.Window"/> (its CPU against
/// the CPU it may use, its playout ticks' lateness, its sessions against <c>Relay:MaxSessions</c>), pauses the
/// <c>start-ai-session</c> endpoint while one more session would not fit and resumes it once it would, and publishes
/// <see cref="RelayCapacity"/> for Routing. The state is also the admin API's <c>GetCapacity</c> and the
/// <c>astrapbx.relay.capacity.*</c> gauges an autoscaler scales on.</summary>
public sealed class CapacityMonitor : BackgroundService
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(250);

    private readonly SessionRegistry _registry;
    private readonly PlayoutClock _clock;
    private readonly CpuSampler _cpu;
    private readonly StartAiSessionEndpoint _endpoint;
    private readonly IServiceProvider _services;
    private readonly CapacityOptions _options;
    private readonly RelayOptions _relay;
    private readonly ILogger<CapacityMonitor> _logger;
    private readonly WarmupState _warmup;
    private readonly BusStarted _busStarted;
    private readonly Queue<Sample> _samples = new();
    private CapacityState _state;
    private long _lastPublished;

    public CapacityMonitor(SessionRegistry registry, PlayoutClock clock, CpuSampler cpu, StartAiSessionEndpoint endpoint, IServiceProvider services,
        IOptions<CapacityOptions> options, IOptions<RelayOptions> relay, ILogger<CapacityMonitor> logger, WarmupState warmup, BusStarted busStarted)
    {
        _warmup = warmup;
        _busStarted = busStarted;
        _registry = registry;
        _clock = clock;
        _cpu = cpu;
        _endpoint = endpoint;
        _services = services;
        _options = options.Value;
        _relay = relay.Value;
        _logger = logger;
        _state = CapacityState.Initial(_relay.MaxSessions);
        RelayTelemetry.Meter.CreateObservableGauge("astrapbx.relay.capacity.load", () => State.Load, "1",
            "Projected load with one more session against the relay's limit (1 = full): what the autoscaler scales on");
        RelayTelemetry.Meter.CreateObservableGauge("astrapbx.relay.capacity.headroom", () => State.HeadroomSessions, "{session}",
            "Sessions that still fit on this relay");
        RelayTelemetry.Meter.CreateObservableGauge("astrapbx.relay.capacity.accepting", () => State.Accepting ? 1 : 0, "1",
            "1 while the relay takes StartAiSession");
    }

    /// <summary>The latest measurement.</summary>
    public CapacityState State => Volatile.Read(ref _state);

    /// <summary>Whether one more session fits now: the last measurement's headroom, less the sessions taken since.
    /// Requests arrive in bursts (a whole prefetch at once), faster than the measurement.</summary>
    public bool HasRoom(int reserved)
    {
        var state = State;
        return !_options.Enabled || (state.Accepting && reserved < state.Sessions + state.HeadroomSessions);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        try
        {
            // The warm-up's own CPU (JIT, the synthetic session) is not load from calls: measuring it would refuse the
            // first sessions after every start. The window begins once the relay is warm (and SERVING), and so does the
            // timer: one made before the warm-up fired its missed tick at once, and the second sample, 20 ms after the
            // first, measured 0.99 cores and refused the first calls after every start.
            await ReportWarmingAsync(stoppingToken).ConfigureAwait(false);
            using var timer = new PeriodicTimer(SampleEvery);
            do
            {
                await UpdateAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Until the relay is warm it takes no session (<see cref="StartAiSessionEndpoint"/> connects then) and says
    /// so every interval, limiter <c>warming-up</c>: Routing sends the call to a relay with room, or to the fallback at
    /// once when none has, instead of leaving it on a queue no relay consumes until its timeout.</summary>
    private async Task ReportWarmingAsync(CancellationToken stoppingToken)
    {
        if (_warmup.IsDone)
        {
            return;
        }

        Volatile.Write(ref _state, CapacityState.Warming);
        MediaRelayLog.CapacityWarming(_logger);
        // Publishing waits for the bus (the warm-up's own bus step needs it too).
        await Task.WhenAny(_busStarted.Started, _warmup.Done).WaitAsync(stoppingToken).ConfigureAwait(false);
        while (!_warmup.IsDone)
        {
            _lastPublished = Stopwatch.GetTimestamp();
            await PublishAsync(CapacityState.Warming, stoppingToken).ConfigureAwait(false);
            try
            {
                await _warmup.Done.WaitAsync(_options.PublishInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Not warm yet: report again.
            }
        }
    }

    /// <summary>One sample: measure, decide, pause or resume, publish on a change or when the interval is up.</summary>
    internal async Task UpdateAsync(CancellationToken cancellationToken)
    {
        var now = new Sample(Stopwatch.GetTimestamp(), _cpu.CpuTime, _clock.TickBusy, _clock.LaneTicks, _clock.CapacityLateTicks);
        _samples.Enqueue(now);
        while (_samples.Count > 2 && Stopwatch.GetElapsedTime(_samples.Peek().At, now.At) > _options.Window)
        {
            _samples.Dequeue();
        }

        var first = _samples.Peek();
        var wall = Stopwatch.GetElapsedTime(first.At, now.At);
        // A span much shorter than a sample measures one burst of work, not a load: until the window spans one, CPU is
        // not counted.
        var spans = wall >= SampleEvery / 2;
        var cpuCores = spans ? (now.Cpu - first.Cpu) / wall : 0;
        var playout = new PlayoutLoad(_clock.TargetCount, spans ? (now.TickBusy - first.TickBusy) / wall : 0);
        var ticks = now.LaneTicks - first.LaneTicks;
        var lateTicks = now.LateTicks - first.LateTicks;
        var lateRatio = ticks > 0 ? (double)lateTicks / ticks : 0;
        var previous = State;
        var state = CapacityState.Measure(_options, _relay.MaxSessions, _registry.Reserved, _registry.Draining, cpuCores,
            _options.CpuMillicores > 0 ? _options.CpuMillicores / 1000.0 : _cpu.AvailableCores, lateRatio, lateTicks, playout);
        Volatile.Write(ref _state, state);

        if (state.Accepting != previous.Accepting)
        {
            if (state.Accepting)
            {
                MediaRelayLog.CapacityRoom(_logger, state.HeadroomSessions, state.Sessions);
            }
            else if (!_registry.Draining)
            {
                MediaRelayLog.CapacityFull(_logger, state.Limiter, state.Sessions, state.CpuUsedCores, state.CpuLimitCores, state.LateTickRatio);
            }
        }

        if (!_registry.Draining && _endpoint.Paused == state.Accepting)
        {
            await _endpoint.SetAcceptingAsync(state.Accepting, cancellationToken).ConfigureAwait(false);
        }

        if (state.Accepting != previous.Accepting || Stopwatch.GetElapsedTime(_lastPublished) >= _options.PublishInterval)
        {
            _lastPublished = Stopwatch.GetTimestamp();
            await PublishAsync(state, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task PublishAsync(CapacityState state, CancellationToken cancellationToken)
    {
        var validFor = _options.PublishInterval * 3;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PublishInterval);
        try
        {
            // Resolved here: the bus is built after this service. A report is worth nothing once the next one is due,
            // so it is not persisted and expires with its validity.
            await _services.GetRequiredService<IBus>().Publish(new RelayCapacity
            {
                RelayInstance = _relay.Instance,
                Accepting = state.Accepting,
                Limiter = state.Limiter,
                HeadroomSessions = state.HeadroomSessions,
                Sessions = state.Sessions,
                Load = state.Load,
                MeasuredAt = DateTimeOffset.UtcNow,
                ValidFor = validFor,
            }, context =>
            {
                context.Durable = false;
                context.TimeToLive = validFor;
            }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or MassTransitException && !cancellationToken.IsCancellationRequested)
        {
            MediaRelayLog.CapacityNotPublished(_logger, e.GetType().Name);
        }
    }

    private readonly record struct Sample(long At, TimeSpan Cpu, TimeSpan TickBusy, long LaneTicks, long LateTicks);
}
