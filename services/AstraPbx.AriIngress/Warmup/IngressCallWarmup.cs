using System.Text;
using AstraPbx.AriIngress.Ari;
using AstraPbx.AriIngress.Calls;
using AstraPbx.Contracts.Calls;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.ServiceDefaults.Warmup;

namespace AstraPbx.AriIngress.Warmup;

/// <summary>Two synthetic calls through the ingress's real call classes (<see cref="CallCoordinator"/>,
/// <see cref="StasisEntryHandler"/>, <see cref="EdgeFallback"/>, <see cref="CallCommands"/>, <see cref="CallEndPublisher"/>),
/// built for the step on an <see cref="InMemoryAri"/> and a publisher that only keeps what it is given: a StasisStart
/// answered and its variables read, <see cref="CallEnteredStasis"/> queued, then <see cref="ConnectToRelay"/> (the AI
/// route) for one and <see cref="ContinueInDialplan"/> for the other, then the hangup events and <see cref="CallEnded"/>.
/// Measured: without it the first call after SERVING spent about 70 ms more in the ingress (before
/// <see cref="CallEnteredStasis"/> went out and between <see cref="ConnectToRelay"/>'s consume and its first ARI
/// request) than with it. The service's own call table, publisher and Asterisk are not touched; the spans are
/// suppressed. The ingress's entry timings do not count them.</summary>
internal sealed class IngressCallWarmup(IServiceProvider services) : IRepeatableWarmupStep
{
    public string Name => "ingress-call";

    public Task RunAsync(CancellationToken cancellationToken) => RepeatAsync(1, cancellationToken);

    public Task RepeatAsync(int passes, CancellationToken cancellationToken) => WarmupPasses.RunAsync(passes, PassAsync, cancellationToken);

    private async Task PassAsync(CancellationToken cancellationToken)
    {
        // The synthetic calls' spans (call, ari requests, CallEnteredStasis send) are recorded, not exported.
        using var traced = WarmupTracing.Begin(Name);
        using var http = new HttpClient(new InMemoryAri()) { BaseAddress = new Uri("http://ari.invalid/ari/") };
        var ari = new AriClient(http);
        var publisher = new KeepingPublisher();
        var connection = new AriConnection();
        connection.SetAsteriskId("warmup");
        var calls = ActivatorUtilities.CreateInstance<CallTable>(services);
        var ending = ActivatorUtilities.CreateInstance<CallEndPublisher>(services, calls, publisher, connection);
        var edge = ActivatorUtilities.CreateInstance<EdgeFallback>(services, ari, publisher, ending);
        var stasis = ActivatorUtilities.CreateInstance<StasisEntryHandler>(services, ari, publisher, edge, connection, calls);
        stasis.Synthetic = true;
        var resync = ActivatorUtilities.CreateInstance<CallResync>(services, ari, calls, stasis, ending, connection);
        var coordinator = ActivatorUtilities.CreateInstance<CallCoordinator>(services, calls, stasis, ending, resync);
        var commands = ActivatorUtilities.CreateInstance<CallCommands>(services, ari, calls, ending, connection);
        var application = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AriOptions>>().Value.Application;

        foreach (var (callId, ai) in new[] { ("warmup.ai", true), ("warmup.dialplan", false) })
        {
            var entered = publisher.Expect<CallEnteredStasis>(callId);
            coordinator.OnEvent(Decode(AriSamples.BareStasisStart(callId), application), System.Diagnostics.Stopwatch.GetTimestamp());
            var entry = await entered.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (ai)
            {
                await commands.ConnectToRelayAsync(new ConnectToRelay
                {
                    CallId = callId,
                    AsteriskId = entry.AsteriskId,
                    SessionId = Guid.NewGuid(),
                    RelayEndpoint = "127.0.0.1:9092",
                    EnteredAt = entry.EnteredAt,
                }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await commands.ContinueInDialplanAsync(new ContinueInDialplan
                {
                    CallId = callId,
                    AsteriskId = entry.AsteriskId,
                    Context = "default",
                    Extension = "s",
                    EnteredAt = entry.EnteredAt,
                }, cancellationToken).ConfigureAwait(false);
            }

            var ended = publisher.Expect<CallEnded>(callId);
            foreach (var type in new[] { "StasisEnd", "ChannelHangupRequest", "ChannelDestroyed" })
            {
                coordinator.OnEvent(Decode(AriSamples.ChannelEvent(type, callId), application), System.Diagnostics.Stopwatch.GetTimestamp());
            }

            await ended.WaitAsync(cancellationToken).ConfigureAwait(false);

            // CallEnded is queued before the call is marked ended; the call's queue of work is done after both.
            var call = calls.Find(callId) ?? throw new InvalidOperationException($"warm-up call {callId} not held");
            await CallTable.Enqueue(call, () => Task.CompletedTask).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (call is not { Ended: true, DecidedBy: not null })
            {
                throw new InvalidOperationException($"warm-up call {callId} was not decided and ended");
            }
        }
    }

    private static AriEvent Decode(string json, string application)
    {
        if (!AriEventDecoder.TryDecode(Encoding.UTF8.GetBytes(json), out var evt, out var problem))
        {
            throw new InvalidOperationException("warm-up event not decoded: " + problem);
        }

        evt.Application = application;
        return evt;
    }

    /// <summary>Keeps what the call classes queue; nothing reaches the bus.</summary>
    private sealed class KeepingPublisher : IOutboundPublisher
    {
        private readonly Lock _lock = new();
        private readonly List<(string CallId, Type Type, Action<object> Done)> _waiting = [];

        public int Pending => 0;

        /// <summary>Completes with the next <typeparamref name="T"/> queued for <paramref name="callId"/>.</summary>
        public Task<T> Expect<T>(string callId)
            where T : class
        {
            var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                _waiting.Add((callId, typeof(T), m => done.TrySetResult((T)m)));
            }

            return done.Task;
        }

        public bool Enqueue<T>(T message, string callId)
            where T : class
        {
            lock (_lock)
            {
                var index = _waiting.FindIndex(w => w.CallId == callId && w.Type == typeof(T));
                if (index >= 0)
                {
                    _waiting[index].Done(message);
                    _waiting.RemoveAt(index);
                }
            }

            return true;
        }
    }
}
