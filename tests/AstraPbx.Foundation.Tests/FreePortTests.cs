using System.Net;
using System.Net.Sockets;
using AstraPbx.LocalRun;
using Xunit;

namespace AstraPbx.Foundation.Tests;

/// <summary>The ports the harness hands to processes about to listen: never where the kernel picks local ports for
/// outgoing connections, which can take a port between the harness choosing it and the process binding it (an
/// end-to-end run once failed on "address already in use" for a port the kernel had picked).</summary>
public sealed class FreePortTests
{
    [Fact]
    public void Ports_are_below_the_ephemeral_range_distinct_and_bindable()
    {
        var ephemeralLow = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var ports = Enumerable.Range(0, 50).Select(_ => ServiceProcess.FreePort()).ToArray();

        Assert.All(ports, p => Assert.InRange(p, 1024, ephemeralLow - 1));
        Assert.Equal(ports.Length, ports.Distinct().Count());
        using var listener = new TcpListener(IPAddress.Loopback, ports[^1]);
        listener.Start();
    }
}
