using System.Diagnostics;
using System.Net.Sockets;
using AstraPbx.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;

namespace AstraPbx.Foundation.Tests.Messaging;

/// <summary>A broker outage injected for real into running buses: the test's own RabbitMQ (never the shared one) is
/// SIGKILLed and started again on its data.</summary>
public sealed class BrokerOutageTests(IsolatedInfrastructure infra, ITestOutputHelper output) : IClassFixture<IsolatedInfrastructure>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Messages_queued_while_the_broker_is_dead_are_all_delivered_in_order_after_it_returns()
    {
        const int count = 200;
        var seen = new SeenCalls(count);
        await using var consumer = await ServiceBus.StartAsync(infra.RabbitMq,
            configure: x => x.AddConsumer<OrderedCallEndedConsumer, OrderedCallEndedConsumerDefinition>(), services: s => s.AddSingleton(seen));
        await using var publisher = await ServiceBus.StartAsync(infra.RabbitMq);
        await consumer.WaitHealthyAsync(Patience, "the consumer's bus to connect");
        await publisher.WaitHealthyAsync(Patience, "the publisher's bus to connect");

        await infra.KillRabbitMqAsync();
        try
        {
            for (var i = 0; i < count; i++)
            {
                // Ten calls' worth of events: the order that must hold is each call's own (one lane per call).
                Assert.True(publisher.Outbound.Enqueue(OutboundQueueTests.Ended(i), "call-" + (i % 10)));
            }

            await Eventually.Until(() => Task.FromResult(publisher.Logged(9102).Count), n => n > 0, Patience, "the queue to find the broker gone");
        }
        finally
        {
            await infra.StartRabbitMqAsync();
        }

        var returned = Stopwatch.GetTimestamp();
        try
        {
            await seen.All.Within(Patience, $"all {count} messages after the broker returned (received {seen.Received.Count})");
        }
        catch (TimeoutException)
        {
            // Seen once in CI (0 of 200 in 90 s, passing alone and in the suite since): keep what both buses logged.
            WriteLog("publisher", publisher);
            WriteLog("consumer", consumer);
            throw;
        }

        var delivered = Stopwatch.GetElapsedTime(returned);
        Assert.Equal(Enumerable.Range(0, count).Select(i => "call-" + i).Order(), seen.FirstSeenOrder().Order());
        var positions = seen.Received.Select(id => int.Parse(id["call-".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        foreach (var call in Enumerable.Range(0, 10))
        {
            var own = positions.Where(p => p % 10 == call).ToArray();
            Assert.True(own.Zip(own.Skip(1)).All(p => p.First <= p.Second), $"call-{call} out of order: " + string.Join(",", own));
        }

        await Eventually.Until(() => Task.FromResult(publisher.Outbound.Pending), n => n == 0, Patience, "the queue to empty");
        var resumed = Assert.Single(publisher.Logged(9103));
        Assert.Contains($"{count} messages waited", resumed.Message, StringComparison.Ordinal);
        Assert.Single(publisher.Logged(9102));
        output.WriteLine("{0} messages delivered {1:0.0} s after the broker was back; duplicates: {2}; {3}",
            count, delivered.TotalSeconds, seen.Received.Count - count, resumed.Message);
    }

    private void WriteLog(string name, ServiceBus bus)
    {
        foreach (var record in bus.Logs.GetSnapshot().TakeLast(60))
        {
            output.WriteLine("{0} {1:HH:mm:ss.fff} {2} {3} [{4}] {5} {6}", name, record.Timestamp, record.Level, record.Category,
                record.Id.Id, record.Message, record.Exception?.GetType().Name);
        }
    }

    [Fact]
    public async Task A_services_bus_consumes_again_within_seconds_of_the_broker_returning()
    {
        var seen = new SeenCalls(1);
        await using var service = await ServiceBus.StartAsync(infra.RabbitMq,
            configure: x => x.AddConsumer<OrderedCallEndedConsumer, OrderedCallEndedConsumerDefinition>(), services: s => s.AddSingleton(seen));
        await service.WaitHealthyAsync(Patience, "the bus to connect");

        await infra.KillRabbitMqAsync();
        Task? start = null;
        try
        {
            await Eventually.Until(() => Task.FromResult(service.Bus.CheckHealth().Status), s => s != BusHealthStatus.Healthy, Patience, "the bus to find the broker gone");
            var accepting = WhenPortAcceptsAsync(infra.AmqpPort, Patience);
            start = infra.StartRabbitMqAsync();
            var portOpen = await accepting;
            await service.WaitHealthyAsync(Patience, "the bus to reconnect");
            var healthy = Stopwatch.GetElapsedTime(portOpen);

            Assert.True(service.Outbound.Enqueue(OutboundQueueTests.Ended(0), "call-0"));
            await seen.All.Within(Patience, "a message through the reconnected bus");
            var consuming = Stopwatch.GetElapsedTime(portOpen);

            output.WriteLine("broker SIGKILLed and restarted: AMQP port accepting -> bus healthy {0:0.00} s, -> message consumed {1:0.00} s", healthy.TotalSeconds, consuming.TotalSeconds);
            // A generous bound, not a timing test: MassTransit's own backoff waited 20-37 s here after an outage.
            Assert.InRange(healthy.TotalSeconds, 0, 15);
        }
        finally
        {
            await (start ?? infra.StartRabbitMqAsync());
        }
    }

    /// <summary>Completes with the timestamp (Stopwatch) at which the port first accepted a TCP connection.</summary>
    private static async Task<long> WhenPortAcceptsAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync("127.0.0.1", port);
                return Stopwatch.GetTimestamp();
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"port {port} did not accept within {timeout.TotalSeconds} s");
    }
}
