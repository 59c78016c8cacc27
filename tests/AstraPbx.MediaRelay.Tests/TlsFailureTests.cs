using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>A gateway whose TLS the relay cannot trust is answered <see cref="AiSessionFailure.Tls"/>, and the detail
/// never carries the gateway key from the URL's query string.</summary>
public sealed class TlsFailureTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Untrusted_certificate_is_answered_tls_without_the_key()
    {
        await using var server = TlsServer.Start(dnsName: null);
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (ready, failed) = await relay.PrepareAsync($"wss://127.0.0.1:{server.Port}/ws/org/bot?key=ak_tls_secret");

        Assert.Null(ready);
        Assert.Equal(AiSessionFailure.Tls, failed!.Reason);
        Assert.DoesNotContain("ak_", failed.Detail);
        Assert.DoesNotContain("key=", failed.Detail);
        // The relay reached the server and began TLS there: the failure is the handshake, not the connection.
        await server.HandshakeStarted.Within(Long, "the TLS server saw a handshake");
    }

    [Fact]
    public async Task Certificate_for_another_host_is_answered_tls_without_the_key()
    {
        await using var server = TlsServer.Start(dnsName: "gateway.other.example");
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (ready, failed) = await relay.PrepareAsync($"wss://127.0.0.1:{server.Port}/ws/org/bot?key=ak_tls_secret");

        Assert.Null(ready);
        Assert.Equal(AiSessionFailure.Tls, failed!.Reason);
        Assert.Contains("NameMismatch", failed.Detail);
        Assert.DoesNotContain("ak_", failed.Detail);
        Assert.DoesNotContain("key=", failed.Detail);
        await server.HandshakeStarted.Within(Long, "the TLS server saw a handshake");
    }

    /// <summary>An HTTPS (TLS) server on 127.0.0.1 with a self-signed certificate made at start: for 127.0.0.1 when
    /// <c>dnsName</c> is null, else for that host name only. It never gets past the handshake with a client that
    /// validates certificates.</summary>
    private sealed class TlsServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly X509Certificate2 _certificate;
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _handshakeStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _accepting;

        private TlsServer(X509Certificate2 certificate)
        {
            _certificate = certificate;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _accepting = AcceptLoopAsync();
        }

        public int Port { get; }

        /// <summary>Completes when a client connected and the server began its TLS handshake.</summary>
        public Task HandshakeStarted => _handshakeStarted.Task;

        public static TlsServer Start(string? dnsName) => new(CreateCertificate(dnsName));

        private static X509Certificate2 CreateCertificate(string? dnsName)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={dnsName ?? "127.0.0.1"}", key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            if (dnsName is null)
            {
                names.AddIpAddress(IPAddress.Loopback);
            }
            else
            {
                names.AddDnsName(dnsName);
            }

            request.CertificateExtensions.Add(names.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            var now = DateTimeOffset.UtcNow;
            using var ephemeral = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
            // Round-trip through PFX so the private key is usable by SslStream on every platform.
            return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), password: null);
        }

        private async Task AcceptLoopAsync()
        {
            var connections = new List<Task>();
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    connections.Add(ServeAsync(client));
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }

            await Task.WhenAll(connections);
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            await using (var tls = new SslStream(client.GetStream(), leaveInnerStreamOpen: false))
            {
                _handshakeStarted.TrySetResult();
                try
                {
                    await tls.AuthenticateAsServerAsync(
                        new SslServerAuthenticationOptions { ServerCertificate = _certificate, ClientCertificateRequired = false },
                        _stop.Token);
                    // A client that accepted the certificate would get here; this server has nothing to say.
                }
                catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or SocketException)
                {
                    // The client rejected the certificate (the point of the test) or the server is stopping.
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
            _certificate.Dispose();
        }
    }
}
