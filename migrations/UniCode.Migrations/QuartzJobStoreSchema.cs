using System.Security.Cryptography;
using System.Text;

namespace UniCode.Migrations;

/// <summary>
/// The Quartz.NET 4.7.3 PostgreSQL job-store schema, as shipped inside Quartz.dll (the script
/// AdoJobStore itself runs for SchemaProvisioning.CreateIfMissing), with the table prefix qrtz_
/// (Quartz's default prefix QRTZ_, folded to lower case by PostgreSQL).
/// A migration must do the same thing forever, so the script's sha256 is pinned: a Quartz upgrade
/// that changes it stops the QuartzJobStore migration with a message instead of silently creating a
/// different schema. Then add a new migration for the upgrade and update the pin with it.
/// </summary>
public static class QuartzJobStoreSchema
{
    public const string ResourceName = "Quartz.Impl.AdoJobStore.Schema.create_postgres.sql";
    public const string ScriptSha256 = "4360d520b163038d19becb44b85fd7e86491b09960a3a82a5c0319664ca982f0";
    public const string TablePrefix = "qrtz_";

    /// <summary>The 15 tables the script creates, in creation order (parents before the tables that reference them).</summary>
    public static IReadOnlyList<string> Tables { get; } =
    [
        "qrtz_job_details", "qrtz_triggers", "qrtz_simple_triggers", "qrtz_cron_triggers", "qrtz_simprop_triggers",
        "qrtz_blob_triggers", "qrtz_calendars", "qrtz_paused_trigger_grps", "qrtz_paused_job_grps",
        "qrtz_fired_triggers", "qrtz_scheduler_state", "qrtz_locks", "qrtz_execution_history",
        "qrtz_misfire_history", "qrtz_job_status",
    ];

    /// <summary>The embedded script, verbatim.</summary>
    /// <exception cref="InvalidOperationException">Quartz.dll lacks the resource, or it is not the pinned script.</exception>
    public static string LoadEmbeddedScript()
    {
        var quartz = typeof(Quartz.IJob).Assembly;
        using var stream = quartz.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{quartz.GetName().Name} {quartz.GetName().Version} has no manifest resource '{ResourceName}'");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        var bytes = copy.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (sha != ScriptSha256)
        {
            throw new InvalidOperationException(
                $"{ResourceName} in {quartz.GetName().Name} {quartz.GetName().Version} has sha256 {sha}, but the QuartzJobStore " +
                $"migration was written for Quartz 4.7.3's script ({ScriptSha256}). Keep Quartz at 4.7.3, or add a new " +
                "migration that moves the qrtz_ tables to the new schema (see migrations/README.md).");
        }
        return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetString(bytes).TrimStart('\uFEFF');
    }

    /// <summary>The script with both placeholders ({0}: prefix, {1}: prefix without schema) set to qrtz_.</summary>
    public static string CreateScript() =>
        LoadEmbeddedScript().Replace("{0}", TablePrefix, StringComparison.Ordinal).Replace("{1}", TablePrefix, StringComparison.Ordinal);

    /// <summary>Drops the tables, children before parents.</summary>
    public static string DropScript() =>
        string.Join("\n", Tables.Reverse().Select(t => $"DROP TABLE IF EXISTS {t};"));
}
