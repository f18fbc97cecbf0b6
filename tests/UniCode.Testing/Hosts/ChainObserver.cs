using System.Collections.Concurrent;
using MassTransit;
using UniCode.Contracts.Chains;

namespace UniCode.Testing;

/// <summary>The chain events (and submissions) seen on the bus, as a client of the coordinator would see them.</summary>
public sealed class ChainEvents
{
    public ConcurrentQueue<object> Seen { get; } = new();

    public List<T> All<T>(Func<T, bool>? where = null) => Seen.OfType<T>().Where(where ?? (_ => true)).ToList();

    /// <summary>Waits until a <typeparamref name="T"/> matching <paramref name="where"/> was seen.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool> where, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (Seen.OfType<T>().FirstOrDefault(where) is { } found) return found;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no {typeof(T).Name} within the timeout; seen: {string.Join(", ", Seen.Select(s => s.GetType().Name))}");
            await Task.Delay(25);
        }
    }
}

public sealed class ChainObserver(ChainEvents events) :
    IConsumer<ChainAccepted>, IConsumer<ChainRejected>, IConsumer<ChainCompleted>, IConsumer<ChainFailed>, IConsumer<ChainCancelled>, IConsumer<SubmitChain>
{
    public Task Consume(ConsumeContext<ChainAccepted> context) => See(context.Message);
    public Task Consume(ConsumeContext<ChainRejected> context) => See(context.Message);
    public Task Consume(ConsumeContext<ChainCompleted> context) => See(context.Message);
    public Task Consume(ConsumeContext<ChainFailed> context) => See(context.Message);
    public Task Consume(ConsumeContext<ChainCancelled> context) => See(context.Message);
    public Task Consume(ConsumeContext<SubmitChain> context) => See(context.Message);

    private Task See(object message)
    {
        events.Seen.Enqueue(message);
        return Task.CompletedTask;
    }
}
