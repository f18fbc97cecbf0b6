using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace UniCode.Hosting.Health;

/// <summary>
/// The one JSON shape of every service's <c>health</c> output, on one line:
/// <c>{"service":"registry","status":"healthy","healthy":true,"checks":[{"name":"postgres","healthy":true,"detail":"…","ms":12},…]}</c>;
/// a failed check also has <c>"error"</c>, the exception's type name, when an exception failed it. status is
/// "healthy" or "unhealthy"; checks are in the order they were registered.
/// </summary>
public static class HealthJson
{
    public sealed record Check(
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("healthy")] bool Healthy,
        [property: JsonPropertyName("detail")] string Detail,
        [property: JsonPropertyName("ms")] long ElapsedMs,
        [property: JsonPropertyName("error"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error);

    public sealed record Report(
        [property: JsonPropertyName("service")] string Service,
        [property: JsonPropertyName("status")] string Status,
        [property: JsonPropertyName("healthy")] bool Healthy,
        [property: JsonPropertyName("checks")] IReadOnlyList<Check> Checks);

    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The report of <paramref name="service"/>, its checks in <paramref name="order"/> (names; others after them).</summary>
    public static Report From(string service, HealthReport report, IReadOnlyList<string>? order = null)
    {
        var checks = report.Entries
            .OrderBy(e => order?.ToList().IndexOf(e.Key) is { } i and >= 0 ? i : int.MaxValue)
            .Select(e => new Check(e.Key, e.Value.Status == HealthStatus.Healthy,
                e.Value.Description ?? e.Value.Exception?.Message ?? e.Value.Status.ToString(),
                (long)e.Value.Duration.TotalMilliseconds, e.Value.Exception?.GetType().Name))
            .ToList();
        var healthy = report.Status == HealthStatus.Healthy;
        return new Report(service, healthy ? "healthy" : "unhealthy", healthy, checks);
    }

    /// <summary>One line of JSON, no line break inside.</summary>
    public static string Write(string service, HealthReport report, IReadOnlyList<string>? order = null) =>
        JsonSerializer.Serialize(From(service, report, order), Options);
}
