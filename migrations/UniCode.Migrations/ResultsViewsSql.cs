using System.Text;

namespace UniCode.Migrations;

/// <summary>
/// The SQL of the ResultsViews migration, embedded from Sql/ResultsViews.{Up,Down}.sql. A migration must do
/// the same thing forever: never edit these files once merged; change the views in a new migration
/// (CREATE OR REPLACE VIEW … in its own Sql/ files).
/// </summary>
public static class ResultsViewsSql
{
    /// <summary>The views, functions, pinned_baselines and the analyst role with its grants.</summary>
    public static string Up => Load("ResultsViews.Up.sql");

    /// <summary>Drops what <see cref="Up"/> created and revokes its grants (the server-wide role stays).</summary>
    public static string Down => Load("ResultsViews.Down.sql");

    /// <summary>Migration LearningColumns: v_leaderboard with learned_share, collapsed_share, chance and probe_ceiling appended.</summary>
    public static string LearningColumnsUp => Load("LearningColumns.Up.sql");

    /// <summary>v_leaderboard as <see cref="Up"/> created it.</summary>
    public static string LearningColumnsDown => Load("LearningColumns.Down.sql");

    /// <summary>The views the migration creates, for tests and the CLI.</summary>
    public static IReadOnlyList<string> Views { get; } = ["v_checkpoint_origin", "v_results", "v_leaderboard", "v_ablation", "v_checkpoints"];

    /// <summary>The read-only role.</summary>
    public const string AnalystRole = "unicode_analyst";

    private static string Load(string name)
    {
        var resource = $"UniCode.Migrations.Sql.{name}";
        using var stream = typeof(ResultsViewsSql).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"UniCode.Migrations has no embedded resource '{resource}' (see UniCode.Migrations.csproj)");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
