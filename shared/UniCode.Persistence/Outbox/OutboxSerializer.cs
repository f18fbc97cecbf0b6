using System.Text.Json;

namespace UniCode.Persistence.Outbox;

/// <summary>How messages are stored in outbox_messages: type name "Namespace.Type, Assembly" and System.Text.Json.</summary>
public static class OutboxSerializer
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General);

    /// <summary>"Namespace.Type, Assembly" (no version: a rebuilt contracts assembly still resolves).</summary>
    public static string TypeName(Type type) =>
        $"{type.FullName ?? throw new ArgumentException($"type {type} has no full name", nameof(type))}, {type.Assembly.GetName().Name}";

    public static string Serialize(object message, Type type) => JsonSerializer.Serialize(message, type, Options);

    /// <summary>Resolves <paramref name="typeName"/> and reads <paramref name="body"/> as that type.</summary>
    /// <exception cref="InvalidOperationException">The type cannot be found or the body does not fit it.</exception>
    public static (object Message, Type Type) Deserialize(string typeName, string body)
    {
        var type = Type.GetType(typeName, throwOnError: false)
            ?? throw new InvalidOperationException($"outbox_messages.message_type '{typeName}': no such type is loaded; expected 'Namespace.Type, Assembly' of a message contract");
        try
        {
            var message = JsonSerializer.Deserialize(body, type, Options)
                ?? throw new InvalidOperationException($"outbox_messages.body of a {typeName}: expected a JSON object, got null");
            return (message, type);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"outbox_messages.body of a {typeName} does not fit the type: {e.Message}", e);
        }
    }

    /// <summary>Reads a body written by <see cref="Serialize"/> as <typeparamref name="T"/>.</summary>
    public static T Deserialize<T>(string body) =>
        JsonSerializer.Deserialize<T>(body, Options) ?? throw new InvalidOperationException($"a {typeof(T).Name} body is null");
}
