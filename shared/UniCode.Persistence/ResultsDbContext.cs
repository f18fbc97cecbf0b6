using Microsoft.EntityFrameworkCore;
using UniCode.Persistence.Entities;
using UniCode.Persistence.EntityConfigurations;

namespace UniCode.Persistence;

/// <summary>
/// The results database: datasets, runs, checkpoints (with lineage and aliases), downstream results
/// and metric points. Its migrations live in the UniCode.Migrations assembly, which every host that
/// migrates must reference (see <see cref="ResultsDbContextOptions"/>).
/// </summary>
public sealed class ResultsDbContext(DbContextOptions<ResultsDbContext> options) : DbContext(options)
{
    public DbSet<Dataset> Datasets => Set<Dataset>();
    public DbSet<Run> Runs => Set<Run>();
    public DbSet<Checkpoint> Checkpoints => Set<Checkpoint>();
    public DbSet<CheckpointAlias> CheckpointAliases => Set<CheckpointAlias>();
    public DbSet<DownstreamResult> DownstreamResults => Set<DownstreamResult>();
    public DbSet<MetricPoint> MetricPoints => Set<MetricPoint>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcDateTimeOffsetConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfiguration(new DatasetConfiguration());
        modelBuilder.ApplyConfiguration(new RunConfiguration());
        modelBuilder.ApplyConfiguration(new CheckpointConfiguration());
        modelBuilder.ApplyConfiguration(new CheckpointAliasConfiguration());
        modelBuilder.ApplyConfiguration(new DownstreamResultConfiguration());
        modelBuilder.ApplyConfiguration(new MetricPointConfiguration());
        SnakeCaseNaming.Apply(modelBuilder);
    }
}
