using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using AstraPbx.Contracts;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.LocalRun.Infrastructure;
using AstraPbx.Routing;
using AstraPbx.Routing.Data;
using AstraPbx.Routing.Orchestration;
using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AstraPbx.RoutingBench;

/// <summary>Publishes <see cref="CallEnteredStasis"/> at a fixed rate into Routing (its real consumers, request client,
/// resolver and call records, hosted in this process) on a fresh virtual host and a fresh seeded database, with a
/// fake relay that answers at once and a fake ingress that records each command. Measures, per call: the decision
/// latency Routing itself records (CallEnteredStasis consumed -> command sent, the relay round trip subtracted) and,
/// for context, publish -> command received at the ingress queue (broker hops and relay round trip included).
/// Bounded: each rate runs for a fixed time and every call is waited for at most 60 s.</summary>
public static class RoutingBench
{
    private const string AsteriskId = "bench-asterisk";

    public static async Task<int> RunAsync(int[] rates, int seconds)
    {
        await using var postgres = PostgresServer.FromEnvironment() ?? throw new InvalidOperationException("No PostgreSQL. " + LocalEnvironment.HowToStart);
        await using var rabbit = RabbitMqBroker.FromEnvironment() ?? throw new InvalidOperationException("No RabbitMQ. " + LocalEnvironment.HowToStart);
        var connectionString = await postgres.CreateDatabaseAsync("bench");
        await DatabaseMigrator.MigrateAsync(connectionString, NullLogger.Instance, CancellationToken.None);
        await using (var dataSource = Npgsql.NpgsqlDataSource.Create(connectionString))
        {
            await Seeder.SeedAsync(dataSource);
            // A second queue whose timeout ends at a SIP user: the dialplan decision.
            await using var command = dataSource.CreateCommand(
                "INSERT INTO queues (id, organization_id, number, name, timeout_destination, timeout_destination_type) VALUES (2, 1, '5002', 'sales', '1001', 'extension')");
            await command.ExecuteNonQueryAsync();
        }

        var state = new BenchState();
        var options = new RoutingOptions { FallbackContext = "org1-internal", FallbackExtension = "5001" };
        await using var bus = await LocalBus.StartAsync(
            await rabbit.CreateVirtualHostAsync("bench"),
            x =>
            {
                x.AddRoutingConsumers();
                x.AddConsumer<ImmediateRelay>().Endpoint(e => e.Name = Endpoints.StartAiSessionQueue);
                x.AddConsumer<RecordingIngress>().Endpoint(e => e.Name = Endpoints.AriIngressQueue(AsteriskId));
            },
            services =>
            {
                services.Configure<PostgresOptions>(o => o.ConnectionString = connectionString);
                services.AddSingleton<IOptionsMonitor<RoutingOptions>>(new StaticOptions(options));
                services.AddRoutingServices();
                services.AddSingleton(state);
            });

        Console.WriteLine($"routing bench: {Environment.ProcessorCount} cores, {seconds} s per rate, mix 1/3 ai_agent,3 + 1/3 queue_timeout,1 (-> AI) + 1/3 queue_timeout,2 (-> SIP)");
        await RunRateAsync(bus.Bus, state, 20, 2, print: false);
        foreach (var rate in rates)
        {
            await RunRateAsync(bus.Bus, state, rate, seconds, print: true);
        }

        return 0;
    }

    private static async Task RunRateAsync(IBus bus, BenchState state, int rate, int seconds, bool print)
    {
        state.Reset();
        var decisions = new ConcurrentBag<(string Outcome, double Ms)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == RoutingMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        var stages = new ConcurrentBag<(string Stage, double Ms)>();
        meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            var label = "";
            foreach (var tag in tags)
            {
                if (tag.Key is "outcome" or "stage")
                {
                    label = tag.Value as string ?? "";
                }
            }

            if (instrument.Name == "astrapbx.routing.stage.duration")
            {
                stages.Add((label, value));
            }
            else
            {
                decisions.Add((label, value));
            }
        });
        meters.Start();

        var total = rate * seconds;
        var prefix = $"r{rate}-{Guid.NewGuid():N}"[..12];
        var clock = Stopwatch.StartNew();
        var publishes = new List<Task>(total);
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            var callId = $"{prefix}-{i}";
            string[] stasisArgs = (i % 3) switch { 0 => ["ai_agent", "3"], 1 => ["queue_timeout", "1"], _ => ["queue_timeout", "2"] };
            state.Published[callId] = Stopwatch.GetTimestamp();
            publishes.Add(bus.Publish(new CallEnteredStasis
            {
                CallId = callId,
                AsteriskId = AsteriskId,
                StasisArgs = stasisArgs,
                OrgId = "1",
                EnteredAt = DateTimeOffset.UtcNow,
                AnsweredAt = DateTimeOffset.UtcNow,
            }));
        }

        await Task.WhenAll(publishes);
        var sent = clock.Elapsed;
        var deadline = Stopwatch.StartNew();
        while ((state.Received.Count < total || decisions.Count < total) && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(50);
        }

        meters.RecordObservableInstruments();
        if (!print)
        {
            return;
        }

        var all = decisions.Select(d => d.Ms).ToList();
        var ai = decisions.Where(d => d.Outcome == "ai_agent").Select(d => d.Ms).ToList();
        var dialplan = decisions.Where(d => d.Outcome == "dialplan").Select(d => d.Ms).ToList();
        var endToEnd = state.Received.Values.ToList();
        Console.WriteLine($"rate {rate}/s: {total} calls published in {sent.TotalSeconds:0.0} s; commands received {state.Received.Count}/{total}; relay requests {state.RelayRequests}");
        Console.WriteLine($"  decision (consumed -> command sent, relay excluded)  all      n={all.Count,5} p50 {P(all, 0.50),7:0.00} ms  p99 {P(all, 0.99),7:0.00} ms  max {Max(all),7:0.00} ms");
        Console.WriteLine($"  decision                                             ai_agent n={ai.Count,5} p50 {P(ai, 0.50),7:0.00} ms  p99 {P(ai, 0.99),7:0.00} ms");
        Console.WriteLine($"  decision                                             dialplan n={dialplan.Count,5} p50 {P(dialplan, 0.50),7:0.00} ms  p99 {P(dialplan, 0.99),7:0.00} ms");
        foreach (var stage in new[] { "claim", "resolve", "send" })
        {
            var v = stages.Where(s => s.Stage == stage).Select(s => s.Ms).ToList();
            Console.WriteLine($"  stage {stage,-8} (claim/resolve: since consumed; send: own time)     n={v.Count,5} p50 {P(v, 0.50),7:0.00} ms  p99 {P(v, 0.99),7:0.00} ms");
        }

        Console.WriteLine($"  publish -> command at ingress (incl. broker, relay)  all      n={endToEnd.Count,5} p50 {P(endToEnd, 0.50),7:0.00} ms  p99 {P(endToEnd, 0.99),7:0.00} ms");
    }

    private static double P(List<double> values, double q)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        values.Sort();
        return values[(int)Math.Round(q * (values.Count - 1))];
    }

    private static double Max(List<double> values) => values.Count == 0 ? double.NaN : values.Max();

    private sealed class StaticOptions(RoutingOptions value) : IOptionsMonitor<RoutingOptions>
    {
        public RoutingOptions CurrentValue => value;

        public RoutingOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<RoutingOptions, string?> listener) => null;
    }
}

public sealed class BenchState
{
    public ConcurrentDictionary<string, long> Published { get; } = new();

    public ConcurrentDictionary<string, double> Received { get; } = new();

    private int _relayRequests;

    public int RelayRequests => _relayRequests;

    public void CountRelayRequest() => Interlocked.Increment(ref _relayRequests);

    public void Reset()
    {
        Published.Clear();
        Received.Clear();
        _relayRequests = 0;
    }

    public void Receive(string callId)
    {
        if (Published.TryGetValue(callId, out var at))
        {
            Received.TryAdd(callId, Stopwatch.GetElapsedTime(at).TotalMilliseconds);
        }
    }
}

/// <summary>A relay that prepares every session at once, so its time is negligible.</summary>
public sealed class ImmediateRelay(BenchState state) : IConsumer<StartAiSession>
{
    public Task Consume(ConsumeContext<StartAiSession> context)
    {
        state.CountRelayRequest();
        var m = context.Message;
        return context.RespondAsync(new AiSessionReady { CallId = m.CallId, AsteriskId = m.AsteriskId, SessionId = m.SessionId, RelayEndpoint = "127.0.0.1:9092" });
    }
}

/// <summary>An ingress that only notes when each call's command arrived.</summary>
public sealed class RecordingIngress(BenchState state) : IConsumer<ConnectToRelay>, IConsumer<ContinueInDialplan>, IConsumer<HangupCall>
{
    public Task Consume(ConsumeContext<ConnectToRelay> context) => Note(context.Message.CallId);

    public Task Consume(ConsumeContext<ContinueInDialplan> context) => Note(context.Message.CallId);

    public Task Consume(ConsumeContext<HangupCall> context) => Note(context.Message.CallId);

    private Task Note(string callId)
    {
        state.Receive(callId);
        return Task.CompletedTask;
    }
}
