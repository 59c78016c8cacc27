using AstraPbx.AriIngress.Ari;
using AstraPbx.ServiceDefaults.Warmup;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace AstraPbx.AriIngress.Warmup;

/// <summary>Opens the ARI client's connections to Asterisk before the first call: a StasisStart sends the answer and the
/// variable reads at once, and <c>ConnectToRelay</c> two variables and a subscription at once, each on a connection of
/// its own. Three reads of the application (what the resync reads after every connect) at the same time, through the
/// service's own <see cref="AriClient"/>: read-only. Measured: the first call's answer and variable read took 10-15 ms
/// against 1-2 ms on a warm ingress. Skipped when the events socket is not open within a few seconds (Asterisk away):
/// the ingress is not SERVING then anyway.</summary>
internal sealed class AriConnectionsWarmup(AriClient ari, AriConnection connection, IOptions<AriOptions> options) : IWarmupStep
{
    private const int Connections = 3;
    private static readonly TimeSpan ConnectWait = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    public string Name => "ari-connections";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var suppressed = SuppressInstrumentationScope.Begin();
        using (var poll = new PeriodicTimer(Poll))
        {
            var deadline = DateTime.UtcNow + ConnectWait;
            while (!connection.IsConnected)
            {
                if (DateTime.UtcNow > deadline)
                {
                    return;
                }

                await poll.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        var application = options.Value.Application;
        var reads = new Task<AriResult<AriApplication>>[Connections];
        for (var i = 0; i < reads.Length; i++)
        {
            reads[i] = ari.GetApplicationAsync(application, cancellationToken);
        }

        foreach (var read in reads)
        {
            var result = await read.ConfigureAwait(false);
            if (result.Status == AriStatus.Unreachable)
            {
                throw new InvalidOperationException("ARI did not answer the warm-up's application read: " + result.Result);
            }
        }
    }
}
