using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using AstraPbx.LocalRun;
using AstraPbx.Simulators.Gateway;

namespace AstraPbx.LoadTool;

/// <summary>The benchmark peer (<c>--peer node</c>): the seed-style Node.js relay of <c>../shared/peers/node-seed-relay</c>,
/// started by the tool on a free loopback port with <c>PACE=1</c> (its per-call paced sender) and the tool's echo gateway
/// as <c>GATEWAY_URL</c>. It needs no preparation: it takes any UUID and opens the call's WebSocket when the UUID frame
/// arrives, so each call is only a fresh UUID. Killed on dispose.</summary>
internal sealed class NodePeerRelay : IMeasuredRelay
{
    private const string ReadyLine = "node-seed-relay on ";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly int _port;
    private readonly string _version;
    private readonly ConcurrentQueue<string> _output;

    private NodePeerRelay(Process process, int port, string version, ConcurrentQueue<string> output) =>
        (_process, _port, _version, _output) = (process, port, version, output);

    public string Name => $"node-seed-relay (Node.js {_version}, PACE=1)";

    public string Key => "node-peer";

    public int? Pid => _process.Id;

    /// <summary>No jitter buffer: a frame waits at most one tick of the call's paced sender.</summary>
    public double IntendedDelayMs => 20;

    /// <summary>Readies the peer's working copy (<see cref="NodePeerInstall"/>), starts it and waits for its listening line.</summary>
    public static async Task<NodePeerRelay> StartAsync(string? peerDir, FakeGateway gateway)
    {
        var (work, node, version) = await NodePeerInstall.PrepareAsync(peerDir).ConfigureAwait(false);
        var port = ServiceProcess.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["PACE"] = "1",
            // No ?key= here: the peer prints its gateway URL, and the echo gateway does not ask for one.
            ["GATEWAY_URL"] = gateway.UrlFor("/ws/org-load/bot-echo").ToString(),
        };
        var output = new ConcurrentQueue<string>();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = ChildProcess.Start(node, ["relay.js"], work, environment, line =>
        {
            // Only its start line and errors: a few lines per run.
            output.Enqueue(line);
            if (line.StartsWith(ReadyLine, StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
        });
        var peer = new NodePeerRelay(process, port, version, output);
        try
        {
            var exited = process.WaitForExitAsync();
            var first = await Task.WhenAny(listening.Task, exited, Task.Delay(StartTimeout)).ConfigureAwait(false);
            if (first != listening.Task)
            {
                throw new InvalidOperationException(
                    (first == exited ? $"the peer exited (code {process.ExitCode}) before listening" : $"the peer did not listen within {StartTimeout.TotalSeconds:0} s")
                    + ":\n" + peer.OutputText);
            }
        }
        catch
        {
            await peer.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        Console.WriteLine($"peer started: pid {process.Id}, AudioSocket 127.0.0.1:{port}, {work}/relay.js, PACE=1");
        return peer;
    }

    public Task<SessionEndpoint?> OpenSessionAsync(Action<string> fail) =>
        Task.FromResult<SessionEndpoint?>(new SessionEndpoint("127.0.0.1", _port, Guid.NewGuid()));

    public Task<RelaySide> ReportRelaySideAsync(IReadOnlySet<Guid> sessions)
    {
        Console.WriteLine(_process.HasExited
            ? $"relay-side: the peer EXITED during the run (code {_process.ExitCode}):\n{OutputText}"
            : "relay-side: n/a (the peer reports nothing of its calls; it has no drift correction, so it trims nothing)");
        return Task.FromResult(RelaySide.None);
    }

    private string OutputText => string.Join('\n', _output);

    public async ValueTask DisposeAsync()
    {
        ChildProcess.Kill(_process);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine($"peer: pid {_process.Id} still running 10 s after SIGKILL");
        }

        _process.Dispose();
    }
}
