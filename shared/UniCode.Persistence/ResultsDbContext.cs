using Microsoft.EntityFrameworkCore;
using UniCode.Persistence.Entities;
using UniCode.Persistence.EntityConfigurations;
using UniCode.Persistence.Outbox;

namespace UniCode.Persistence;

/// <summary>
/// The results database: datasets, runs, checkpoints (with lineage and aliases), downstream results
/// and metric points; the chain coordinator's state (chains, chain steps, evaluation suites,
/// re-evaluation requests); and the outbox/inbox tables of the services. Its migrations live in the UniCode.Migrations assembly, which every host that
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
    public DbSet<Chain> Chains => Set<Chain>();
    public DbSet<ChainStep> ChainSteps => Set<ChainStep>();
    public DbSet<Worker> Workers => Set<Worker>();
    public DbSet<EvaluationSuite> EvaluationSuites => Set<EvaluationSuite>();
    public DbSet<ReevaluationRequest> ReevaluationRequests => Set<ReevaluationRequest>();
    public DbSet<OutboxMessage> OutboxMessages => Set<OutboxMessage>();
    public DbSet<ProcessedMessage> ProcessedMessages => Set<ProcessedMessage>();

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
        modelBuilder.ApplyConfiguration(new ChainConfiguration());
        modelBuilder.ApplyConfiguration(new ChainStepConfiguration());
        modelBuilder.ApplyConfiguration(new WorkerConfiguration());
        modelBuilder.ApplyConfiguration(new EvaluationSuiteConfiguration());
        modelBuilder.ApplyConfiguration(new ReevaluationRequestConfiguration());
        modelBuilder.ApplyConfiguration(new OutboxMessageConfiguration());
        modelBuilder.ApplyConfiguration(new ProcessedMessageConfiguration());
        SnakeCaseNaming.Apply(modelBuilder);
    }
}
