using System.Diagnostics;
using AstraPbx.LocalRun.Infrastructure;
using AstraPbx.Simulators.Gateway;

namespace AstraPbx.Fuzz.Relay;

/// <summary>The tool's real relay: started in this process on a throwaway virtual host of the local broker, with an
/// echoing gateway for the parallel call and a <see cref="FuzzBot"/> for the fuzz sessions; the parallel call and the
/// <see cref="SocketFuzzer"/> run until <see cref="StopAsync"/>.</summary>
internal sealed class RelayFuzzRun : IAsyncDisposable
{
    /// <summary>A gap this long in the parallel call's audio (50 missed frames) counts as the call being affected; the
    /// real figure is reported beside it.</summary>
    public const double MaxGapBoundMs = 1000;

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private RabbitMqBroker? _broker;
    private FuzzRelay? _relay;
    private FakeGateway? _echo;
    private FuzzBot? _bot;
    private ParallelCall? _call;
    private SocketFuzzer? _fuzzer;
    private Task? _fuzzing;

    public static async Task<RelayFuzzRun> StartAsync(string? rabbitMq, int sessions, ulong seed)
    {
        var run = new RelayFuzzRun();
        try
        {
            run._broker = RabbitMqBroker.FromEnvironment(rabbitMq) ?? throw new InvalidOperationException("No broker for the real relay. " + LocalEnvironment.HowToStart);
            var connectionString = run._broker.CanCreateVirtualHosts ? await run._broker.CreateVirtualHostAsync("fuzz").ConfigureAwait(false) : run._broker.ConnectionString;
            run._relay = await FuzzRelay.StartAsync(connectionString).ConfigureAwait(false);
            run._echo = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo }).ConfigureAwait(false);
            run._bot = await FuzzBot.StartAsync().ConfigureAwait(false);
            run._call = await ParallelCall.StartAsync(run._relay.Relay, run._echo).ConfigureAwait(false);
            run._fuzzer = new SocketFuzzer(run._relay.Relay, run._bot, run._call.SessionId, seed);
            run._fuzzing = run._fuzzer.RunAsync(sessions, long.MaxValue, run._stop.Token);
            Console.WriteLine($"real relay: AudioSocket {run._relay.Relay.AudioSocket}, parallel call {run._call.SessionId} up, {sessions} fuzz sessions at once");
            return run;
        }
        catch
        {
            await run.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task<RelayFuzzResult> StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _fuzzing!.ConfigureAwait(false);
        var call = await _call!.StopAsync(MaxGapBoundMs).ConfigureAwait(false);
        var logs = _relay!.Relay.Logs;
        var failures = _fuzzer!.ConnectionFailures.Concat(_fuzzer.SessionFailures).Concat(logs.Errors.Select(e => "relay logged an error: " + e)).ToList();
        return new RelayFuzzResult(_clock.Elapsed, _fuzzer.Connections, _fuzzer.Sessions, _bot!.MessagesSent, _fuzzer.ConnectionFailures.Count,
            _fuzzer.SessionFailures.Count + logs.Errors.Count, _fuzzer.Reasons, logs.Refusals, failures, [.. _fuzzer.Findings], call);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_call is not null)
        {
            await _call.DisposeAsync().ConfigureAwait(false);
        }

        if (_relay is not null)
        {
            await _relay.DisposeAsync().ConfigureAwait(false);
        }

        if (_bot is not null)
        {
            await _bot.DisposeAsync().ConfigureAwait(false);
        }

        if (_echo is not null)
        {
            await _echo.DisposeAsync().ConfigureAwait(false);
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
