using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using UniCode.Persistence.Entities;
using UniCode.Persistence.Outbox;

namespace UniCode.Persistence.EntityConfigurations;

// Tables of the chain coordinator (chains, chain_steps, evaluation_suites, reevaluation_requests)
// and of the outbox/inbox any service may use (outbox_messages, processed_messages).

internal sealed class ChainConfiguration : IEntityTypeConfiguration<Chain>
{
    public void Configure(EntityTypeBuilder<Chain> b)
    {
        b.ToTable("chains", t =>
        {
            t.HasCheckConstraint("ck_chains_status", Sql.OneOf("status", ChainStatuses.All));
            t.HasCheckConstraint("ck_chains_step_count", "step_count >= 0");
        });
        b.HasKey(c => c.Id);
        b.Property(c => c.Id).ValueGeneratedNever();
        b.Property(c => c.PlanJson).HasColumnType("jsonb");
        b.Property(c => c.Version).IsRowVersion().HasColumnName("xmin").HasColumnType("xid");
        b.HasIndex(c => c.Status);
    }
}

internal sealed class ChainStepConfiguration : IEntityTypeConfiguration<ChainStep>
{
    /// <summary>A step key names the same work in every chain, so it is unique within one chain only.</summary>
    public const string ChainStepKeyName = "ux_chain_steps_chain_id_step_key";

    public void Configure(EntityTypeBuilder<ChainStep> b)
    {
        b.ToTable("chain_steps", t =>
        {
            t.HasCheckConstraint("ck_chain_steps_kind", Sql.OneOf("kind", ChainStepKinds.All));
            t.HasCheckConstraint("ck_chain_steps_status", Sql.OneOf("status", ChainStepStatuses.All));
            t.HasCheckConstraint("ck_chain_steps_step_key", Sql.IsSha256("step_key"));
            t.HasCheckConstraint("ck_chain_steps_attempts", "attempts >= 0");
            t.HasCheckConstraint("ck_chain_steps_restarts", "restarts >= 0");
        });
        b.HasKey(s => s.Id);
        b.Property(s => s.Id).ValueGeneratedNever();
        b.HasOne(s => s.Chain).WithMany(c => c.Steps).HasForeignKey(s => s.ChainId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<ChainStep>().WithMany().HasForeignKey(s => s.ParentStepId).OnDelete(DeleteBehavior.NoAction);
        b.Property(s => s.ResultJson).HasColumnType("jsonb");
        b.Property(s => s.CommandJson).HasColumnType("jsonb");
        b.Property(s => s.Version).IsRowVersion().HasColumnName("xmin").HasColumnType("xid");
        b.HasIndex(s => new { s.ChainId, s.StepKey }).IsUnique().HasDatabaseName(ChainStepKeyName);
        b.HasIndex(s => new { s.StepKey, s.Status });
        b.HasIndex(s => s.JobId);
        b.HasIndex(s => new { s.Status, s.DispatchedAt });
        b.HasIndex(s => s.CheckpointSha256);
    }
}

internal sealed class WorkerConfiguration : IEntityTypeConfiguration<Worker>
{
    public void Configure(EntityTypeBuilder<Worker> b)
    {
        b.ToTable("workers", t => t.HasCheckConstraint("ck_workers_job_kind", Sql.OneOf("job_kind", RunKinds.All)));
        b.HasKey(w => new { w.Name, w.JobKind });
        b.HasIndex(w => new { w.JobKind, w.LastSeenAt });
    }
}

internal sealed class EvaluationSuiteConfiguration : IEntityTypeConfiguration<EvaluationSuite>
{
    public void Configure(EntityTypeBuilder<EvaluationSuite> b)
    {
        b.ToTable("evaluation_suites", t =>
        {
            t.HasCheckConstraint("ck_evaluation_suites_directions", "cardinality(directions) > 0");
            t.HasCheckConstraint("ck_evaluation_suites_protocol", Sql.OneOf("protocol", ["held-out", "reference"]));
        });
        b.HasKey(s => s.Name);
        b.Property(s => s.FinetuneJson).HasColumnType("jsonb");
    }
}

internal sealed class ReevaluationRequestConfiguration : IEntityTypeConfiguration<ReevaluationRequest>
{
    public void Configure(EntityTypeBuilder<ReevaluationRequest> b)
    {
        b.ToTable("reevaluation_requests", t =>
        {
            t.HasCheckConstraint("ck_reevaluation_requests_pair_key", Sql.IsSha256("pair_key"));
            t.HasCheckConstraint("ck_reevaluation_requests_attempt", "attempt >= 1");
        });
        b.HasKey(r => new { r.PairKey, r.Attempt });
        b.HasOne(r => r.Checkpoint).WithMany().HasForeignKey(r => r.CheckpointSha256).OnDelete(DeleteBehavior.Restrict);
        b.HasOne(r => r.Suite).WithMany().HasForeignKey(r => r.SuiteName).OnDelete(DeleteBehavior.Restrict);
        b.HasIndex(r => r.ChainId).IsUnique();
    }
}

internal sealed class OutboxMessageConfiguration : IEntityTypeConfiguration<OutboxMessage>
{
    public void Configure(EntityTypeBuilder<OutboxMessage> b)
    {
        b.ToTable("outbox_messages", t => t.HasCheckConstraint("ck_outbox_messages_attempts", "attempts >= 0"));
        b.HasKey(m => m.Id);
        b.Property(m => m.Id).ValueGeneratedNever();
        b.Property(m => m.Sequence).UseIdentityAlwaysColumn();
        b.Property(m => m.Body).HasColumnType("jsonb");
        // The dispatcher's query: unsent rows in order. Sent rows (almost all of them) stay out of the index.
        b.HasIndex(m => m.Sequence).HasFilter("sent_at IS NULL").HasDatabaseName("ix_outbox_messages_unsent");
        b.HasIndex(m => m.SentAt);
    }
}

internal sealed class ProcessedMessageConfiguration : IEntityTypeConfiguration<ProcessedMessage>
{
    public void Configure(EntityTypeBuilder<ProcessedMessage> b)
    {
        b.ToTable("processed_messages");
        b.HasKey(m => new { m.Consumer, m.MessageId });
        b.HasIndex(m => m.ProcessedAt);
    }
}
