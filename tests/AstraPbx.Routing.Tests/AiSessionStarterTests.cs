using System.Threading.Channels;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Orchestration;
using AstraPbx.Routing.Resolution;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>Issue 13, item 1: once every relay reports no room, Routing neither sends a retry nor keeps waiting for a
/// request no relay will consume; the call goes to the fallback at once (<c>no-relay-capacity</c>). The relay is a
/// handler on MassTransit's in-memory test harness, so the request client and its cancellation are the real ones.</summary>
public sealed class AiSessionStarterTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly Channel<ConsumeContext<StartAiSession>> _requests = Channel.CreateUnbounded<ConsumeContext<StartAiSession>>();
    private readonly FakeTimeProvider _time = new();
    private ServiceProvider _provider = null!;
    private ITestHarness _harness = null!;
    private int _received;

    /// <summary>What the relay does with each request; by default it takes it and never answers.</summary>
    private Func<ConsumeContext<StartAiSession>, Task> _relay = _ => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        _provider = new ServiceCollection()
            .AddMassTransitTestHarness(x => x.AddHandler<StartAiSession>(async context =>
            {
                Interlocked.Increment(ref _received);
                _requests.Writer.TryWrite(context);
                await _relay(context);
            }))
            .BuildServiceProvider(true);
        _harness = _provider.GetRequiredService<ITestHarness>();
        await _harness.Start();
    }

    public async Task DisposeAsync()
    {
        await _harness.Stop();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task A_retry_after_over_capacity_is_not_sent_once_every_relay_reports_no_room()
    {
        var view = new RelayCapacityView(_time);
        _relay = context =>
        {
            // The relay's report of no room arrives with its answer (it publishes it at its next measurement).
            view.Update(Report("relay-1", accepting: false));
            return context.RespondAsync(Failed(context.Message, AiSessionFailure.OverCapacity));
        };

        var result = await Starter(view).StartAsync(Call(), AiRoute(), Budget(), CancellationToken.None).WaitAsync(Patience);

        Assert.Null(result.Ready);
        Assert.Equal(Reasons.NoRelayCapacity, result.Failure);
        Assert.Equal(1, result.Attempts);
        Assert.Equal(1, Volatile.Read(ref _received));
    }

    [Fact]
    public async Task A_retry_after_over_capacity_is_sent_while_another_relay_reports_room()
    {
        var view = new RelayCapacityView(_time);
        view.Update(Report("relay-2", accepting: true));
        _relay = context =>
        {
            view.Update(Report("relay-1", accepting: false));
            return context.RespondAsync(Failed(context.Message, AiSessionFailure.OverCapacity));
        };

        var result = await Starter(view).StartAsync(Call(), AiRoute(), Budget(), CancellationToken.None).WaitAsync(Patience);

        Assert.Equal("over-capacity", result.Failure);
        Assert.Equal(2, result.Attempts);
        Assert.Equal(2, Volatile.Read(ref _received));
    }

    [Fact]
    public async Task A_request_still_waiting_is_given_up_when_every_relay_reports_no_room()
    {
        var view = new RelayCapacityView(_time);
        view.Update(Report("relay-1", accepting: true));
        var starting = Starter(view).StartAsync(Call(), AiRoute(), Budget(), CancellationToken.None);
        await NextRequestAsync();
        Assert.False(starting.IsCompleted, "the request was answered by nobody and is 30 s from its timeout");

        view.Update(Report("relay-1", accepting: false));
        var result = await starting.WaitAsync(Patience);

        Assert.Null(result.Ready);
        Assert.Equal(Reasons.NoRelayCapacity, result.Failure);
        Assert.Equal(1, result.Attempts);
        Assert.Equal(1, Volatile.Read(ref _received));
    }

    [Fact]
    public async Task A_request_keeps_waiting_while_one_relay_still_reports_room()
    {
        var view = new RelayCapacityView(_time);
        view.Update(Report("relay-1", accepting: true));
        view.Update(Report("relay-2", accepting: true));
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _relay = async context =>
        {
            await answer.Task;
            await context.RespondAsync(new AiSessionReady
            {
                CallId = context.Message.CallId, AsteriskId = context.Message.AsteriskId, SessionId = context.Message.SessionId,
                RelayEndpoint = "127.0.0.1:9092", RelayInstance = "relay-2",
            });
        };
        var starting = Starter(view).StartAsync(Call(), AiRoute(), Budget(), CancellationToken.None);
        await NextRequestAsync();

        view.Update(Report("relay-1", accepting: false));
        answer.SetResult();
        var result = await starting.WaitAsync(Patience);

        Assert.NotNull(result.Ready);
        Assert.Equal(1, result.Attempts);
    }

    private async Task NextRequestAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        await _requests.Reader.ReadAsync(timeout.Token);
    }

    private AiSessionStarter Starter(RelayCapacityView view) => new(_harness.Bus.CreateRequestClient<StartAiSession>(), view,
        new FixedOptions<RoutingOptions>(Options), _time, NullLogger<AiSessionStarter>.Instance);

    /// <summary>A timeout far beyond the tests' patience: only capacity, never the timeout, can end a wait here.</summary>
    private static readonly RoutingOptions Options = new() { StartSessionTimeout = TimeSpan.FromSeconds(30), StartSessionRetries = 1 };

    private DecisionBudget Budget() => new(null, Options, _time);

    private static RelayCapacity Report(string relay, bool accepting) =>
        new() { RelayInstance = relay, Accepting = accepting, Limiter = accepting ? "none" : "sessions", ValidFor = TimeSpan.FromSeconds(3) };

    private static CallEnteredStasis Call() => new() { CallId = "call-" + Guid.NewGuid().ToString("N")[..8], AsteriskId = RoutingHarness.AsteriskId };

    private static RouteDecision AiRoute() => new()
    {
        Outcome = RouteOutcome.AiAgent, Path = ["user:1003"], GatewayUrl = "ws://127.0.0.1:9/ws/org-1/bot-1?key=ak_test",
    };

    private static AiSessionFailed Failed(StartAiSession request, AiSessionFailure reason) => new()
    {
        CallId = request.CallId, AsteriskId = request.AsteriskId, SessionId = request.SessionId, Reason = reason, RelayInstance = "relay-1",
    };
}
