using System.Diagnostics;

namespace AstraPbx.LocalRun.Faults;

/// <summary>One run of one scenario: places its calls, marks when the fault struck, waits out each call's window,
/// hangs every call up, waits (bounded) for the records, and judges every call (<see cref="CallClassifier"/>).</summary>
public sealed class FaultSession
{
    /// <summary>Time between two calls a scenario places in a row.</summary>
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan EstablishPatience = TimeSpan.FromSeconds(30);
    private readonly List<FaultCall> _calls = [];
    private readonly List<Task> _hangups = [];
    private readonly List<string> _notes = [];

    internal FaultSession(FaultRig rig, CancellationToken cancellationToken)
    {
        Rig = rig;
        Token = cancellationToken;
    }

    public FaultRig Rig { get; }

    public LocalDeployment Deployment => Rig.Deployment;

    /// <summary>Cancelled when the scenario's hard timeout passes (or the run is stopped).</summary>
    public CancellationToken Token { get; }

    /// <summary>Every call placed so far.</summary>
    public IReadOnlyList<FaultCall> Calls
    {
        get
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Places <paramref name="count"/> calls, <see cref="Pace"/> apart. A call not held is hung up once it is
    /// decided (an AI call once its caller reached the relay); one never decided stays up until the end.</summary>
    public async Task<IReadOnlyList<FaultCall>> PlaceAsync(int count, Func<int, FaultCallKind> kind, string phase, bool hold = false)
    {
        var placed = new List<FaultCall>(count);
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                await Task.Delay(Pace, Token).ConfigureAwait(false);
            }

            var callKind = kind(i);
            var call = new FaultCall(await Rig.DialAsync(callKind).ConfigureAwait(false), callKind, phase, hold);
            lock (_calls)
            {
                _calls.Add(call);
                if (!hold)
                {
                    _hangups.Add(HangUpWhenDecidedAsync(call));
                }
            }

            placed.Add(call);
        }

        return placed;
    }

    /// <summary>Places calls as <see cref="PlaceAsync"/> does and waits (bounded) until Routing is waiting on
    /// StartAiSession for each silent-bot call among them (its relay has connected to the <see cref="SilentGateway"/>),
    /// so that a fault injected next strikes between claim and command; notes when not all got there.</summary>
    public async Task<IReadOnlyList<FaultCall>> PlaceWithRoutingWaitingAsync(int count, Func<int, FaultCallKind> kind, string phase)
    {
        var silent = Rig.SilentGateway;
        var before = silent.Accepted;
        var placed = await PlaceAsync(count, kind, phase).ConfigureAwait(false);
        var slow = placed.Count(c => c.Kind == FaultCallKind.SlowBot);
        if (!await silent.WaitForAcceptedAsync(before + slow, TimeSpan.FromSeconds(15), Token).ConfigureAwait(false))
        {
            Note($"Routing waiting on StartAiSession for only {silent.Accepted - before} of {slow} calls before the fault");
        }

        return placed;
    }

    /// <summary>The fault has struck now: calls not yet decided count their window and their time to the fallback
    /// from here.</summary>
    public void FaultInjected(string what) => CountFromNow(what);

    /// <summary>Calls not yet decided count their window and their time to the fallback from now (the fault, or the
    /// moment the only service able to act on them is back); noted with <paramref name="what"/>.</summary>
    public void CountFromNow(string what)
    {
        var now = Stopwatch.GetTimestamp();
        var undecided = 0;
        lock (_calls)
        {
            foreach (var call in _calls)
            {
                if (!call.IsDecided)
                {
                    call.Reference = Math.Max(call.Reference, now);
                    undecided++;
                }
            }
        }

        Note($"{what} with {undecided} calls undecided");
    }

    /// <summary>Waits until each call is decided or its window (<see cref="CallClassifier.StrandedAfter"/> from its
    /// reference) is over.</summary>
    public Task WaitDecidedAsync(IEnumerable<FaultCall> calls) => Task.WhenAll(calls.Select(WaitOneDecidedAsync));

    /// <summary>Keeps a fault in place until every call placed during it is decided or its window is over, and at
    /// least <paramref name="atLeast"/> after <paramref name="since"/>: an outage long enough that a caller left waiting
    /// for the service to come back would be stranded, and that the services' reconnect backoff has grown.</summary>
    public async Task HoldFaultAsync(IEnumerable<FaultCall> during, long since, TimeSpan atLeast)
    {
        var left = atLeast - Stopwatch.GetElapsedTime(since);
        await Task.WhenAll(WaitDecidedAsync(during), left > TimeSpan.Zero ? Task.Delay(left, Token) : Task.CompletedTask).ConfigureAwait(false);
    }

    /// <summary>Waits (bounded) until each held call is where it should be while the fault strikes: an AI call's caller
    /// on the relay, any other call continued; notes those that are not.</summary>
    public async Task WaitEstablishedAsync(IEnumerable<FaultCall> calls)
    {
        var late = 0;
        foreach (var call in calls)
        {
            var established = call.Kind == FaultCallKind.Bot ? (Task)call.Call.AudioSocketDialled : call.Call.Continued;
            await Task.WhenAny(established, Task.Delay(EstablishPatience, Token)).ConfigureAwait(false);
            Token.ThrowIfCancellationRequested();
            late += established.IsCompletedSuccessfully ? 0 : 1;
        }

        if (late > 0)
        {
            Note($"{late} calls not established before the fault");
        }
    }

    /// <summary>A line for the table's notes.</summary>
    public void Note(string line)
    {
        if (line.Length == 0)
        {
            return;
        }

        lock (_notes)
        {
            _notes.Add(line);
        }
    }

    /// <summary>Seconds since <paramref name="timestamp"/>, for notes.</summary>
    public static string Since(long timestamp) =>
        Stopwatch.GetElapsedTime(timestamp).TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s";

    /// <summary>Waits out every window, hangs every call up, waits up to <paramref name="settle"/> for the records and
    /// judges the calls. With <paramref name="aborted"/> (the scenario timed out) it skips the waiting and judges the
    /// calls as they are.</summary>
    internal async Task<FaultReport> FinishAsync(FaultScenario scenario, TimeSpan settle, bool aborted)
    {
        FaultCall[] calls;
        Task[] hangups;
        lock (_calls)
        {
            calls = [.. _calls];
            hangups = [.. _hangups];
        }

        if (!aborted)
        {
            await WaitDecidedAsync(calls).ConfigureAwait(false);
            await Task.WhenAll(hangups).ConfigureAwait(false);
        }

        await Task.WhenAll(calls.Select(c => c.HangUpAsync())).ConfigureAwait(false);
        var records = await CallRecordReader.SettleAsync(Rig.Infrastructure.Postgres, [.. calls.Select(c => c.Call.ChannelId)], aborted ? TimeSpan.Zero : settle)
            .ConfigureAwait(false);
        var audioSocketContext = Deployment.Asterisk.Options.AudioSocketContext;
        lock (_notes)
        {
            return new FaultReport
            {
                Fault = scenario.Name,
                Title = scenario.Title,
                Calls = [.. calls.Select(c => CallClassifier.Classify(Facts(c, records), audioSocketContext, Rig.FallbackTarget))],
                Notes = [.. _notes],
                Aborted = aborted,
            };
        }
    }

    private async Task WaitOneDecidedAsync(FaultCall call)
    {
        var left = CallClassifier.StrandedAfter - Stopwatch.GetElapsedTime(call.Reference);
        if (left > TimeSpan.Zero && !call.IsDecided)
        {
            await Task.WhenAny(call.Decided, Task.Delay(left, Token)).ConfigureAwait(false);
        }

        Token.ThrowIfCancellationRequested();
    }

    private async Task HangUpWhenDecidedAsync(FaultCall call)
    {
        try
        {
            await WaitOneDecidedAsync(call).ConfigureAwait(false);
            if (!call.IsDecided)
            {
                return;
            }

            if (call.Call.ContinuedTimestamp != 0 && call.Kind == FaultCallKind.Bot)
            {
                // Let the caller reach the bot (or fail to) before hanging up, as a caller who talks would.
                await Task.WhenAny(call.Call.AudioSocketDialled, Task.Delay(EstablishPatience, Token)).ConfigureAwait(false);
            }

            await call.HangUpAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (Token.IsCancellationRequested)
        {
        }
    }

    private static CallFacts Facts(FaultCall call, IReadOnlyDictionary<string, CallRecordFacts> records)
    {
        var c = call.Call;
        TimeSpan? After(long timestamp) => timestamp == 0 ? null : Stopwatch.GetElapsedTime(call.Reference, timestamp);
        return new CallFacts
        {
            CallId = c.ChannelId,
            Kind = call.Kind,
            Phase = call.Phase,
            Answered = c.AnswerReceivedTimestamp != 0,
            Target = c.Continued.IsCompletedSuccessfully ? c.Continued.Result : null,
            ContinuedAfter = After(c.ContinuedTimestamp),
            SystemEndedAfter = After(call.SystemEndedTimestamp),
            Commands = c.ContinueRequests + c.HangupRequests,
            Record = records.GetValueOrDefault(c.ChannelId),
        };
    }
}
