using System.Collections.Concurrent;
using AstraPbx.AriIngress.Ari;
using Microsoft.Extensions.Options;

namespace AstraPbx.AriIngress.Calls;

/// <summary>Every call the ingress holds in memory, and each call's queue of work: work for one call runs strictly in
/// order (events as they arrived, commands as consumed), calls run in parallel. Memory is bounded: ended calls are
/// forgotten after <see cref="AriOptions.EndedCallRetention"/>, and the oldest ended ones first while more than
/// <see cref="AriOptions.MaxTrackedCalls"/> are held.</summary>
internal sealed class CallTable(IOptions<AriOptions> options, TimeProvider time, ILogger<CallTable> logger)
{
    private readonly ConcurrentDictionary<string, CallState> _calls = new(StringComparer.Ordinal);
    private readonly Queue<CallState> _ended = new();
    private readonly AriOptions _options = options.Value;

    /// <summary>Calls held in memory right now (live and recently ended).</summary>
    public int TrackedCalls => _calls.Count;

    /// <summary>Every call held, live or recently ended.</summary>
    public ICollection<CallState> Calls => _calls.Values;

    public CallState GetOrAdd(string callId) => _calls.GetOrAdd(callId, static id => new CallState(id));

    public CallState? Find(string callId) => _calls.TryGetValue(callId, out var call) ? call : null;

    /// <summary>Runs <paramref name="work"/> after everything queued before it for the same call.</summary>
    public static Task Enqueue(CallState call, Func<Task> work)
    {
        lock (call)
        {
            var run = call.Tail.ContinueWith(static (_, w) => ((Func<Task>)w!)(), work, CancellationToken.None,
                TaskContinuationOptions.DenyChildAttach, TaskScheduler.Default).Unwrap();

            // The chain goes on after a failed step; the failure reaches whoever awaits that step.
            call.Tail = run.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return run;
        }
    }

    /// <summary>Marks the call ended; it stays known (absorbing late events and redelivered commands) until pruned.</summary>
    public void Forget(CallState call)
    {
        call.DisarmEdge();
        call.Ended = true;
        call.EndedAt = time.GetUtcNow();
        lock (_ended)
        {
            _ended.Enqueue(call);
        }
    }

    /// <summary>Drops ended calls older than the retention, and more of the oldest ended ones while over the cap.</summary>
    public void Prune()
    {
        var cutoff = time.GetUtcNow() - _options.EndedCallRetention;
        lock (_ended)
        {
            while (_ended.TryPeek(out var oldest) && (oldest.EndedAt < cutoff || _calls.Count > _options.MaxTrackedCalls))
            {
                _ended.Dequeue();
                _calls.TryRemove(new KeyValuePair<string, CallState>(oldest.CallId, oldest));
            }
        }

        if (_calls.Count > _options.MaxTrackedCalls && _calls.Count % 1000 == 0)
        {
            logger.TooManyCalls(_calls.Count);
        }
    }
}
