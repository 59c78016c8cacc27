using AstraPbx.Contracts.Calls;
using MassTransit;

namespace AstraPbx.Foundation.Tests.Messaging;

/// <summary>The <see cref="CallEnded"/> messages a consumer received, in the order the broker delivered them
/// (duplicates included: a publish attempt that timed out may have reached the broker and is sent again).</summary>
public sealed class SeenCalls(int expected)
{
    private readonly List<string> _received = [];
    private readonly HashSet<string> _distinct = [];
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once <c>expected</c> distinct calls were received.</summary>
    public Task All => _all.Task;

    public IReadOnlyList<string> Received
    {
        get
        {
            lock (_received)
            {
                return _received.ToArray();
            }
        }
    }

    /// <summary>Each call once, where it first arrived.</summary>
    public IReadOnlyList<string> FirstSeenOrder() => Received.Distinct().ToArray();

    public void Add(string callId)
    {
        lock (_received)
        {
            _received.Add(callId);
            if (_distinct.Add(callId) && _distinct.Count == expected)
            {
                _all.TrySetResult();
            }
        }
    }
}

/// <summary>Records each <see cref="CallEnded"/> into <see cref="SeenCalls"/>, one at a time (see the definition).</summary>
public sealed class OrderedCallEndedConsumer(SeenCalls seen) : IConsumer<CallEnded>
{
    public Task Consume(ConsumeContext<CallEnded> context)
    {
        seen.Add(context.Message.CallId);
        return Task.CompletedTask;
    }
}

/// <summary>One message at a time with a prefetch of one, so the consumer records the queue's order.</summary>
public sealed class OrderedCallEndedConsumerDefinition : ConsumerDefinition<OrderedCallEndedConsumer>
{
    public OrderedCallEndedConsumerDefinition() => ConcurrentMessageLimit = 1;

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<OrderedCallEndedConsumer> consumerConfigurator, IRegistrationContext context) =>
        endpointConfigurator.PrefetchCount = 1;
}
