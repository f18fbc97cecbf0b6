using System.Text.Json;
using System.Text.Json.Nodes;

namespace UniCode.Orchestrator.Chains;

/// <summary>
/// Canonical JSON of the configs the coordinator builds (fine-tune, evaluate): object keys sorted
/// ordinally at every depth, no whitespace, so equal configs give equal step keys however they were
/// written. (Pre-training configs use UniCodeConfig.ToCanonicalJson, the model's own canonical form.)
/// </summary>
public static class CanonicalJson
{
    public static string Write(JsonNode? node) => Sort(node)?.ToJsonString() ?? "null";

    public static string Write(JsonElement element) => Write(JsonNode.Parse(element.GetRawText()));

    private static JsonNode? Sort(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Sort(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Sort).ToArray()),
        null => null,
        _ => JsonNode.Parse(node.ToJsonString()),
    };
}
