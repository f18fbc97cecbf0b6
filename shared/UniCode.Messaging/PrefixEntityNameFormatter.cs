using MassTransit;

namespace UniCode.Messaging;

/// <summary>Prepends a prefix to the exchange name of every message type (see <see cref="RabbitMqSettings.Prefix"/>).</summary>
internal sealed class PrefixEntityNameFormatter(IEntityNameFormatter inner, string prefix) : IEntityNameFormatter
{
    public string FormatEntityName<T>() => prefix + inner.FormatEntityName<T>();
}
