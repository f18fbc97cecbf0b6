using System.Collections.Concurrent;
using MassTransit;

namespace UniCode.Orchestrator.Tests.Support;

/// <summary>Every finished consumption on the bus: which queue, which message id (to know a duplicate was delivered and handled).</summary>
public sealed class ConsumeRecorder : IConsumeObserver
{
    public ConcurrentQueue<(string Queue, Guid? MessageId, string MessageType)> Consumed { get; } = new();

    public int Count(string queueSuffix, Guid messageId) =>
        Consumed.Count(c => c.MessageId == messageId && c.Queue.EndsWith(queueSuffix, StringComparison.Ordinal));

    public async Task WaitAsync(string queueSuffix, Guid messageId, int times)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Count(queueSuffix, messageId) < times)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"message {messageId} was consumed {Count(queueSuffix, messageId)} time(s) on *{queueSuffix}, expected {times}");
            await Task.Delay(25);
        }
    }

    public Task PreConsume<T>(ConsumeContext<T> context) where T : class => Task.CompletedTask;

    public Task PostConsume<T>(ConsumeContext<T> context) where T : class
    {
        Consumed.Enqueue((context.ReceiveContext.InputAddress.AbsolutePath, context.MessageId, typeof(T).Name));
        return Task.CompletedTask;
    }

    public Task ConsumeFault<T>(ConsumeContext<T> context, Exception exception) where T : class => Task.CompletedTask;
}
