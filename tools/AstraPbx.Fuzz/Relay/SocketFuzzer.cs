using System.Collections.Concurrent;
using System.Net.Sockets;
using AstraPbx.Contracts.Media;
using AstraPbx.Fuzz.Inputs;
using AstraPbx.Fuzz.Running;
using AstraPbx.Fuzz.Targets;
using CsCheck;

namespace AstraPbx.Fuzz.Relay;

/// <summary>Fuzz input over a real relay's sockets, beside the calls it carries: AudioSocket connections whose first
/// bytes are fuzz (the parallel call's own UUID among them: it must be refused, not stolen), and sessions whose caller
/// side sends fuzz frames after a valid UUID while a <see cref="FuzzBot"/> sends fuzz messages. Every connection must be
/// closed by the relay, every session must end with a named reason (never <c>relay-error</c>) and leave only valid
/// frames toward Asterisk, and the relay must log no error. Iteration <c>i</c> is generated from (seed, i).</summary>
public sealed class SocketFuzzer(RelayUnderFuzz relay, FuzzBot bot, Guid parallelCall, ulong seed)
{
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(15);
    private static readonly HashSet<string> HangsUp =
    [
        "gateway-closed", "gateway-stop", "oversized-frame", "unsupported-audio-kind", "bad-audio-length", "bad-dtmf",
        "unexpected-uuid", "unknown-kind",
    ];

    private long _next = -1;
    private long _connections;
    private long _sessions;

    public long Connections => Interlocked.Read(ref _connections);

    public long Sessions => Interlocked.Read(ref _sessions);

    public ConcurrentQueue<string> ConnectionFailures { get; } = new();

    public ConcurrentQueue<string> SessionFailures { get; } = new();

    /// <summary>What the relay wrote toward Asterisk that breaks PROTOCOLS.md 1's rules (not crashes: the call still
    /// ended with a named reason), for the report.</summary>
    public ConcurrentQueue<string> Findings { get; } = new();

    /// <summary>How the fuzz sessions ended (reason -> count).</summary>
    public ConcurrentDictionary<string, long> Reasons { get; } = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="workers"/> loops until <paramref name="stop"/> or <paramref name="iterations"/>.</summary>
    public Task RunAsync(int workers, long iterations, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => LoopAsync(iterations, stop))));

    private async Task LoopAsync(long iterations, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var i = Interlocked.Increment(ref _next);
            if (i >= iterations)
            {
                return;
            }

            var pcg = new PCG(10, seed ^ ((ulong)i * 0x9E3779B97F4A7C15UL));
            var replay = $"relay iteration {i} of seed {seed}";
            try
            {
                if (pcg.Next(2) == 0)
                {
                    await ConnectionAsync(pcg).ConfigureAwait(false);
                }
                else
                {
                    await SessionAsync(pcg, i).ConfigureAwait(false);
                }
            }
            catch (FuzzFailure e)
            {
                (e.Message.StartsWith("connection", StringComparison.Ordinal) ? ConnectionFailures : SessionFailures).Enqueue($"{replay}: {e.Message}");
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                // The fuzz's own socket failed to connect: the relay's listener must always accept.
                ConnectionFailures.Enqueue($"{replay}: connection to the relay failed: {e.Message}");
            }
        }
    }

    /// <summary>A connection whose first bytes are fuzz; how it ends (close, reset, or hold until the relay's UUID wait).</summary>
    private async Task ConnectionAsync(PCG pcg)
    {
        var target = pcg.Next(8) == 0 ? parallelCall : Gen.Guid.Generate(pcg, null, out _);
        var bytes = AudioSocketInputs.FirstBytes(target).Generate(pcg, null, out _);
        var end = pcg.Next(6);
        using var socket = await ConnectAsync().ConfigureAwait(false);
        Interlocked.Increment(ref _connections);
        await SendAsync(socket, bytes).ConfigureAwait(false);
        if (end == 0)
        {
            Reset(socket);
            return;
        }

        if (end > 1)
        {
            socket.Shutdown(SocketShutdown.Send);
        }

        var (closed, _, _) = await ReadUntilClosedAsync(socket).ConfigureAwait(false);
        if (!closed)
        {
            throw new FuzzFailure($"connection: the relay left a connection open {CloseWait.TotalSeconds:0} s (first bytes {Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 64)))})");
        }
    }

    /// <summary>A prepared session: the fuzz bot plays a script, the caller sends a valid UUID then a fuzz stream.</summary>
    private async Task SessionAsync(PCG pcg, long iteration)
    {
        var script = BotScript.Any.Generate(pcg, null, out _);
        var stream = AudioSocketInputs.CallerStream.Generate(pcg, null, out _);
        var mode = pcg.Next(2) == 0 ? MediaMode.AstraPbxBinary : MediaMode.Twilio;
        var callerEnd = pcg.Next(4);
        var id = Gen.Guid.Generate(pcg, null, out _);
        var callId = "fuzz-" + iteration;
        bot.Expect(callId, script);
        var prepared = await relay.Preparer.PrepareAsync(FuzzRequest.For(callId, id, bot.Url, mode), CancellationToken.None).ConfigureAwait(false);
        if (prepared.Failed is { } failed)
        {
            throw new FuzzFailure($"session: not prepared: {failed.Reason} {failed.Detail}");
        }

        Interlocked.Increment(ref _sessions);
        using var socket = await ConnectAsync().ConfigureAwait(false);
        Interlocked.Increment(ref _connections);
        await SendAsync(socket, [.. AudioSocketInputs.Uuid(id), .. stream]).ConfigureAwait(false);
        var reading = ReadUntilClosedAsync(socket, callerEnd == 3 ? TimeSpan.FromSeconds(3) : CloseWait);
        if (callerEnd == 0)
        {
            Reset(socket);
        }
        else if (callerEnd < 3)
        {
            socket.Shutdown(SocketShutdown.Send);
        }

        var (closed, wasReset, output) = await reading.ConfigureAwait(false);
        if (!closed && callerEnd == 3)
        {
            // The caller waited for the relay (the bot's script may end the call); now it hangs up.
            socket.Shutdown(SocketShutdown.Send);
            (closed, wasReset, var more) = await ReadUntilClosedAsync(socket).ConfigureAwait(false);
            output = [.. output, .. more];
        }

        var ended = relay.Logs.Ended(id);
        var finished = await Task.WhenAny(ended, Task.Delay(CloseWait)).ConfigureAwait(false) == ended;
        var claimed = relay.Logs.Claimed(id);
        relay.Logs.Forget(id);
        if (!finished && !claimed)
        {
            // The caller's connection was refused (it reset before its UUID was read): the session stays pending
            // until Relay:PendingSessionExpiry, as one Asterisk never connected to would.
            Reasons.AddOrUpdate("pending (never claimed)", 1, (_, n) => n + 1);
            return;
        }

        if (!finished)
        {
            throw new FuzzFailure($"session: {id} did not end within {CloseWait.TotalSeconds:0} s of its caller's end");
        }

        var reason = ended.Result;
        Reasons.AddOrUpdate(reason, 1, (_, n) => n + 1);
        if (reason == "relay-error")
        {
            throw new FuzzFailure($"session: ended as relay-error; script {string.Join(" | ", script.Messages.Select(m => m.ToString()))}");
        }

        if (callerEnd != 0)
        {
            if (!closed)
            {
                throw new FuzzFailure($"session: the relay left the connection open after the session ended ({reason})");
            }

            if (!wasReset)
            {
                // A reset may cut the last frame: only a gracefully closed stream is checked whole.
                try
                {
                    // A session the bot ended before Asterisk's UUID frame came is refused: nothing is written back.
                    CallerOutput.Verify(output, hungUp: claimed && HangsUp.Contains(reason), reason);
                }
                catch (FuzzFailure e)
                {
                    Findings.Enqueue($"relay iteration {iteration} of seed {seed}: {e.Message}");
                }
            }
        }
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(relay.AudioSocket, timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends what it can: the relay may refuse (and close) before all is sent, which is its right.</summary>
    private static async Task SendAsync(Socket socket, byte[] bytes)
    {
        try
        {
            await socket.SendAsync(bytes, SocketFlags.None).ConfigureAwait(false);
        }
        catch (SocketException)
        {
        }
    }

    /// <summary>Closes with linger 0: a reset, as a crashed Asterisk or a dropped network would.</summary>
    private static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    /// <summary>Reads what the relay sends until it closes the connection (closed; reset when it ended with a reset) or
    /// <paramref name="wait"/> passes.</summary>
    private static async Task<(bool Closed, bool Reset, byte[] Output)> ReadUntilClosedAsync(Socket socket, TimeSpan? wait = null)
    {
        var output = new List<byte>();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(wait ?? CloseWait);
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return (true, false, [.. output]);
                }

                if (output.Count < 1 << 20)
                {
                    output.AddRange(buffer.AsSpan(0, read));
                }
            }
        }
        catch (OperationCanceledException)
        {
            return (false, false, [.. output]);
        }
        catch (SocketException)
        {
            return (true, true, [.. output]);
        }
    }
}
