using System.Reflection;
using MassTransit;
using MassTransit.Configuration;
using MassTransit.RabbitMqTransport;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client.Exceptions;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>Caps how long the bus waits between two attempts to reach the broker. MassTransit's RabbitMQ transport
/// reconnects on <c>RabbitMqHostConfiguration.ReceiveTransportRetryPolicy</c> (sends reuse it): exponential from 3 s to
/// 30 s, and a receive endpoint never resets its count, so after one outage every later one starts at 30 s (measured:
/// 22.7 s to reconnect after the broker was back). The property is get-only and no setting reaches it, so its backing
/// field is replaced, before the bus starts, by a policy with the same exception filters and a capped interval. When a
/// MassTransit upgrade moves the fields, a warning says so and the bus keeps MassTransit's policy; a test then fails.</summary>
public sealed class BrokerReconnect(ILogger<BrokerReconnect> logger)
{
    // Private to MassTransit 8.5.x: RabbitMqBusFactoryConfigurator._hostConfiguration (a RabbitMqHostConfiguration)
    // and the compiler's backing field of its get-only ReceiveTransportRetryPolicy.
    private const string HostConfigurationField = "_hostConfiguration";
    private const string PolicyField = "<ReceiveTransportRetryPolicy>k__BackingField";

    /// <summary>True once the capped policy is the one the transport reads (receive and send).</summary>
    public bool Applied { get; private set; }

    /// <summary>The policy the transport reads after <see cref="Apply"/>; null before it runs or when the host
    /// configuration could not be reached.</summary>
    public IRetryPolicy? Effective { get; private set; }

    /// <summary>MassTransit 8.5.12's reconnect filters (<c>RabbitMqHostConfiguration</c>'s constructor), with the
    /// interval capped at <paramref name="maxInterval"/> (plus MassTransit's jitter of up to a quarter). No retry
    /// limit: a receive endpoint counts its retries over the life of the process and gives up for good at the limit.</summary>
    public static IRetryPolicy CreatePolicy(TimeSpan maxInterval)
    {
        var step = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMilliseconds(500).Ticks, maxInterval.Ticks));
        return Retry.CreatePolicy(x =>
        {
            x.Handle<ConnectionException>();
            x.Handle<AlreadyClosedException>();
            x.Handle<EndOfStreamException>();
            x.Handle<OperationInterruptedException>(e => e.ChannelShouldBeClosed());
            x.Handle<NotSupportedException>(e => e.Message.Contains("Pipelining of requests forbidden", StringComparison.Ordinal));
            x.Ignore<AuthenticationFailureException>();
            x.Exponential(int.MaxValue, step, maxInterval, step);
        });
    }

    /// <summary>Puts the capped policy into the host configuration behind <paramref name="configurator"/>; call it in
    /// <c>UsingRabbitMq</c>, before the bus starts. Logs a warning and leaves MassTransit's policy when it cannot.</summary>
    public void Apply(IRabbitMqBusFactoryConfigurator configurator, TimeSpan maxInterval)
    {
        var host = FindField(configurator.GetType(), HostConfigurationField)?.GetValue(configurator);
        var field = host is null ? null : FindField(host.GetType(), PolicyField);
        if (host is not IHostConfiguration configuration || field is null || !field.FieldType.IsAssignableFrom(typeof(IRetryPolicy)))
        {
            WarnMissing();
            return;
        }

        var policy = CreatePolicy(maxInterval);
        field.SetValue(host, policy);
        Effective = configuration.ReceiveTransportRetryPolicy;
        Applied = ReferenceEquals(Effective, policy) && ReferenceEquals(configuration.SendTransportRetryPolicy, policy);
        if (Applied)
        {
            MessagingLog.ReconnectCapped(logger, maxInterval.TotalSeconds);
        }
        else
        {
            WarnMissing();
        }
    }

    private void WarnMissing() =>
        MessagingLog.ReconnectCapMissing(logger, typeof(IRabbitMqBusFactoryConfigurator).Assembly.GetName().Version?.ToString() ?? "?");

    private static FieldInfo? FindField(Type type, string name)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.GetField(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly) is { } field)
            {
                return field;
            }
        }

        return null;
    }
}
