using System.ComponentModel.DataAnnotations;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>How a service rides out a broker outage: the outbound queue's bound and timings, and how fast the bus
/// notices a dead broker and reconnects to a returning one. Section <c>Messaging</c>.</summary>
public sealed class MessagingOptions
{
    public const string SectionName = "Messaging";

    /// <summary>Messages the outbound queue holds at most (queued plus the one being published); beyond it a message is
    /// dropped, counted and logged. 100,000 call events are minutes of a busy PBX and a few tens of MB.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Messaging:OutboundCapacity must be 1-10000000.")]
    public int OutboundCapacity { get; set; } = 100_000;

    /// <summary>Lanes of the outbound queue, each published in order by its own loop; a call's messages share one lane.
    /// More lanes carry more messages a second (each waits for the broker's confirm).</summary>
    [Range(1, 256, ErrorMessage = "Messaging:OutboundLanes must be 1-256.")]
    public int OutboundLanes { get; set; } = 16;

    /// <summary>One publish attempt is given up after this (the broker may be gone: MassTransit would otherwise wait
    /// for it); the message is then tried again, so it may arrive twice.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Messaging:PublishAttemptTimeout must be 0.1 s - 5 min.")]
    public TimeSpan PublishAttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>On stop, what is still queued gets this long to reach the broker before the bus stops.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00", ErrorMessage = "Messaging:DrainTimeout must be 0 - 5 min.")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between two reconnect attempts (MassTransit's own grows to 30 s; jitter adds up to
    /// a quarter).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Messaging:ReconnectMaxInterval must be 0.1 s - 1 min.")]
    public TimeSpan ReconnectMaxInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>AMQP heartbeat: a broker that stops answering without closing the socket is noticed after about two
    /// of these (RabbitMQ advises no less than 5 s).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Messaging:Heartbeat must be 1 s - 10 min.")]
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A TCP connect plus AMQP handshake that takes longer fails, and the next attempt follows
    /// (the client's default of 30 s would hold each attempt against an unreachable host).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00", ErrorMessage = "Messaging:ConnectionTimeout must be 0.1 s - 1 min.")]
    public TimeSpan ConnectionTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
