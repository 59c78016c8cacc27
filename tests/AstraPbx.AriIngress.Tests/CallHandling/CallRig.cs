using AstraPbx.AriIngress.Ari;
using AstraPbx.AriIngress.Calls;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>The ingress's call handling as the service wires it, on fakes at its two edges: <see cref="StubAri"/> for
/// Asterisk's REST side and <see cref="RecordingPublisher"/> for the bus; time is a <see cref="FakeTimeProvider"/>.</summary>
internal sealed class CallRig
{
    public const string AsteriskId = "02:fc:00:00:00:01";

    public CallRig(Action<AriOptions>? configure = null)
    {
        var options = new AriOptions { Password = "secret", ChannelVariables = ["LANGUAGE"] };
        configure?.Invoke(options);
        Options = options;
        var wrapped = Microsoft.Extensions.Options.Options.Create(options);
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(Logs));
        Connection.SetAsteriskId(AsteriskId);
        var lifetime = new Lifetime();
        Table = new CallTable(wrapped, Time, loggers.CreateLogger<CallTable>());
        Ending = new CallEndPublisher(Table, Publisher, Connection, Time, loggers.CreateLogger<CallEndPublisher>());
        Edge = new EdgeFallback(Ari.Client, Publisher, Ending, wrapped, Time, lifetime, loggers.CreateLogger<EdgeFallback>());
        Stasis = new StasisEntryHandler(Ari.Client, Publisher, Edge, Connection, Table, wrapped, Time, lifetime, loggers.CreateLogger<StasisEntryHandler>());
        Commands = new CallCommands(Ari.Client, Table, Ending, Connection, wrapped, loggers.CreateLogger<CallCommands>());
        Resync = new CallResync(Ari.Client, Table, Stasis, Ending, Connection, wrapped, Time, loggers.CreateLogger<CallResync>());
        Coordinator = new CallCoordinator(Table, Stasis, Ending, Resync, wrapped, Time, loggers.CreateLogger<CallCoordinator>());
    }

    public AriOptions Options { get; }

    public StubAri Ari { get; } = new();

    public RecordingPublisher Publisher { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 23, 21, 22, 36, TimeSpan.Zero));

    public LogCapture Logs { get; } = new();

    public AriConnection Connection { get; } = new();

    public CallTable Table { get; }

    public CallEndPublisher Ending { get; }

    public EdgeFallback Edge { get; }

    public StasisEntryHandler Stasis { get; }

    public CallCommands Commands { get; }

    public CallResync Resync { get; }

    public CallCoordinator Coordinator { get; }

    /// <summary>Completes when everything queued so far for the call has run.</summary>
    public Task IdleAsync(string callId) => Table.Find(callId) is { } call ? CallTable.Enqueue(call, () => Task.CompletedTask) : Task.CompletedTask;

    /// <summary>A call downstream already knows: published, in Stasis.</summary>
    public CallState Published(string callId)
    {
        var call = Table.GetOrAdd(callId);
        call.InStasis = true;
        call.Published = true;
        call.KnownDownstream = true;
        return call;
    }

    /// <summary>Hands an event to the coordinator as the events socket does, then waits until the call is idle.</summary>
    public async Task EventAsync(AriEvent evt)
    {
        Coordinator.OnEvent(evt, System.Diagnostics.Stopwatch.GetTimestamp());
        if (evt.Channel?.Id is { } id)
        {
            await IdleAsync(id);
        }
    }

    /// <summary>A StasisStart for <paramref name="callId"/> received now; returns the entry the ingress published.</summary>
    public async Task<AstraPbx.Contracts.Calls.CallEnteredStasis> EnterAsync(string callId, bool expectPublished = true)
    {
        var published = Publisher.Entered.Count;
        await EventAsync(StasisStart(callId));
        if (!expectPublished)
        {
            return null!;
        }

        var entered = Publisher.Entered.Last();
        if (Publisher.Entered.Count != published + 1 || entered.CallId != callId)
        {
            throw new InvalidOperationException($"StasisStart of {callId} published no CallEnteredStasis");
        }

        return entered;
    }

    /// <summary>Moves the fake clock on (timers due meanwhile fire) and waits until the call's queued work has run.</summary>
    public Task AdvanceAsync(string callId, TimeSpan by)
    {
        Time.Advance(by);
        return IdleAsync(callId);
    }

    public static AriChannel Channel(string id, string appData = "astrapbx,ai_agent,3") => new()
    {
        Id = id,
        Name = "PJSIP/0207946000-00000001",
        State = "Ring",
        Caller = new AriCallerId { Number = "0207946000", Name = "Ada" },
        Dialplan = new AriDialplan { Context = "org_demo_internal", Exten = "1003", Priority = 3, AppName = "Stasis", AppData = appData },
    };

    public static AriEvent StasisStart(string id, string application = "astrapbx") => new()
    {
        Type = "StasisStart",
        Application = application,
        AsteriskId = AsteriskId,
        Args = ["ai_agent", "3"],
        Channel = Channel(id),
    };

    public static AriEvent Hangup(string type, string id, int cause, string? causeText = null, bool? soft = null) => new()
    {
        Type = type,
        Application = "astrapbx",
        Cause = cause,
        CauseTxt = causeText,
        Soft = soft,
        Channel = new AriChannel { Id = id },
    };

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
