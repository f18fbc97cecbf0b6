using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using UniCode.Persistence.Entities;

namespace UniCode.Persistence.EntityConfigurations;

// Column names come from SnakeCaseNaming; only tables, types, keys and constraints are set here.
// Check constraints are written against the snake_case column names.

internal static class Sql
{
    /// <summary>A check that a text column holds a lower-case hex sha256.</summary>
    public static string IsSha256(string column) => $"{column} ~ '^[0-9a-f]{{64}}$'";

    public static string OneOf(string column, IEnumerable<string> values) =>
        $"{column} IN ({string.Join(", ", values.Select(v => $"'{v}'"))})";
}

internal sealed class DatasetConfiguration : IEntityTypeConfiguration<Dataset>
{
    public void Configure(EntityTypeBuilder<Dataset> b)
    {
        b.ToTable("datasets", t =>
        {
            t.HasCheckConstraint("ck_datasets_kind", Sql.OneOf("kind", DatasetKinds.All));
            t.HasCheckConstraint("ck_datasets_name_has_kind", "starts_with(name, kind || ':') AND length(name) > length(kind) + 1");
            t.HasCheckConstraint("ck_datasets_content_hash", Sql.IsSha256("content_hash"));
            t.HasCheckConstraint("ck_datasets_clip_count", "clip_count >= 0");
        });
        b.HasKey(d => d.Id);
        b.Property(d => d.Id).ValueGeneratedNever();
        b.Property(d => d.Description).HasColumnType("jsonb");
        b.HasIndex(d => d.ContentHash).IsUnique();
        b.HasIndex(d => d.Name);
    }
}

internal sealed class RunConfiguration : IEntityTypeConfiguration<Run>
{
    public void Configure(EntityTypeBuilder<Run> b)
    {
        b.ToTable("runs", t =>
        {
            t.HasCheckConstraint("ck_runs_kind", Sql.OneOf("kind", RunKinds.All));
            t.HasCheckConstraint("ck_runs_status", Sql.OneOf("status", RunStatuses.All));
            t.HasCheckConstraint("ck_runs_step_key", Sql.IsSha256("step_key"));
        });
        b.HasKey(r => r.Id);
        b.Property(r => r.Id).ValueGeneratedNever();
        b.Property(r => r.ConfigJson).HasColumnType("jsonb");
        // xmin: PostgreSQL's row-version system column; Npgsql maps a uint row version onto it.
        b.Property(r => r.Version).IsRowVersion().HasColumnName("xmin").HasColumnType("xid");
        b.HasIndex(r => r.StepKey).IsUnique();
        b.HasIndex(r => r.ChainId);
        b.HasIndex(r => r.ConfigHash);
        b.HasIndex(r => r.DatasetHash);
    }
}

internal sealed class CheckpointConfiguration : IEntityTypeConfiguration<Checkpoint>
{
    public void Configure(EntityTypeBuilder<Checkpoint> b)
    {
        b.ToTable("checkpoints", t =>
        {
            t.HasCheckConstraint("ck_checkpoints_sha256", Sql.IsSha256("sha256"));
            t.HasCheckConstraint("ck_checkpoints_not_own_parent", "parent_sha256 IS NULL OR parent_sha256 <> sha256");
            t.HasCheckConstraint("ck_checkpoints_size_bytes", "size_bytes >= 0");
        });
        b.HasKey(c => c.Sha256);
        b.HasOne(c => c.Run).WithMany(r => r.Checkpoints).HasForeignKey(c => c.RunId).OnDelete(DeleteBehavior.Restrict);
        // Lineage: a parent cannot be deleted while a child points at it.
        b.HasOne(c => c.Parent).WithMany(c => c.Children).HasForeignKey(c => c.ParentSha256).OnDelete(DeleteBehavior.Restrict);
    }
}

internal sealed class CheckpointAliasConfiguration : IEntityTypeConfiguration<CheckpointAlias>
{
    public void Configure(EntityTypeBuilder<CheckpointAlias> b)
    {
        b.ToTable("checkpoint_aliases");
        b.HasKey(a => a.Name);
        b.HasOne(a => a.Checkpoint).WithMany().HasForeignKey(a => a.CheckpointSha256).OnDelete(DeleteBehavior.Restrict);
        b.Property(a => a.Version).IsRowVersion().HasColumnName("xmin").HasColumnType("xid");
    }
}

internal sealed class DownstreamResultConfiguration : IEntityTypeConfiguration<DownstreamResult>
{
    /// <summary>The natural key: one score per evaluation identity (name shorter than PostgreSQL's 63-char limit).</summary>
    public const string NaturalKeyName = "ux_downstream_results_natural_key";

    public void Configure(EntityTypeBuilder<DownstreamResult> b)
    {
        b.ToTable("downstream_results");
        b.HasKey(r => r.Id);
        b.Property(r => r.Id).ValueGeneratedNever();
        b.HasOne(r => r.Run).WithMany().HasForeignKey(r => r.RunId).OnDelete(DeleteBehavior.Restrict);
        b.HasOne(r => r.Checkpoint).WithMany().HasForeignKey(r => r.CheckpointSha256).OnDelete(DeleteBehavior.Restrict);
        b.HasIndex(r => new
        {
            r.CheckpointSha256, r.Task, r.SourceModality, r.TargetModality, r.Split, r.Protocol,
            r.Metric, r.EvalCodeVersion, r.DatasetHash,
        }).IsUnique().HasDatabaseName(NaturalKeyName);
    }
}

internal sealed class MetricPointConfiguration : IEntityTypeConfiguration<MetricPoint>
{
    public void Configure(EntityTypeBuilder<MetricPoint> b)
    {
        b.ToTable("metric_points");
        b.HasKey(m => new { m.RunId, m.Step, m.Key });
        b.HasOne(m => m.Run).WithMany(r => r.Metrics).HasForeignKey(m => m.RunId).OnDelete(DeleteBehavior.Cascade);
    }
}
