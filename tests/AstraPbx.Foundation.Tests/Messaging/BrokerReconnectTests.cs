using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;
using MassTransit.RetryPolicies;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client.Exceptions;
using Xunit;

namespace AstraPbx.Foundation.Tests.Messaging;

/// <summary>The capped reconnect policy reaches MassTransit's transport. It is set through MassTransit's private fields:
/// an upgrade that moves them fails here rather than silently bringing back 30 s reconnect waits.</summary>
public sealed class BrokerReconnectTests
{
    [Theory]
    [InlineData(null, 2.0)]
    [InlineData("00:00:01", 1.0)]
    public async Task The_bus_reconnects_on_the_capped_policy_with_MassTransits_filters(string? setting, double capSeconds)
    {
        var settings = new Dictionary<string, string?>();
        if (setting is not null)
        {
            settings["Messaging:ReconnectMaxInterval"] = setting;
        }

        await using var bus = await ServiceBus.StartAsync(ServiceBus.NoBroker(), settings);
        _ = bus.Bus;
        var reconnect = bus.Services.GetRequiredService<BrokerReconnect>();

        Assert.True(reconnect.Applied, "the capped policy is not the one MassTransit's RabbitMQ transport reads");
        var policy = Assert.IsType<ExponentialRetryPolicy>(reconnect.Effective);
        Assert.Equal(int.MaxValue, policy.RetryLimit);
        for (var retry = 0; retry < 100; retry++)
        {
            // MassTransit adds up to a quarter of jitter.
            Assert.InRange(policy.GetRetryInterval(retry).TotalSeconds, 0, capSeconds * 1.25);
        }

        Assert.True(policy.IsHandled(new ConnectionException("broker unreachable")));
        Assert.True(policy.IsHandled(new AlreadyClosedException(new RabbitMQ.Client.Events.ShutdownEventArgs(RabbitMQ.Client.ShutdownInitiator.Peer, 320, "CONNECTION_FORCED"))));
        Assert.True(policy.IsHandled(new EndOfStreamException()));
        Assert.True(policy.IsHandled(new NotSupportedException("Pipelining of requests forbidden")));
        Assert.False(policy.IsHandled(new NotSupportedException("something else")));
        Assert.False(policy.IsHandled(new AuthenticationFailureException("wrong password")));
        Assert.False(policy.IsHandled(new InvalidOperationException()));
        Assert.Single(bus.Logged(9108));
    }
}
