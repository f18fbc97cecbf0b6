using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace UniCode.Migrations
{
    /// <summary>
    /// The chain coordinator's state (chains, chain_steps, evaluation_suites, reevaluation_requests)
    /// and the outbox/inbox tables (outbox_messages, processed_messages).
    /// </summary>
    public partial class OrchestratorState : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "chains",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "text", nullable: false),
                    status = table.Column<string>(type: "text", nullable: false),
                    force = table.Column<bool>(type: "boolean", nullable: false),
                    spec_json = table.Column<string>(type: "text", nullable: false),
                    plan_json = table.Column<string>(type: "jsonb", nullable: true),
                    step_count = table.Column<int>(type: "integer", nullable: false),
                    reason = table.Column<string>(type: "text", nullable: true),
                    failed_step_key = table.Column<string>(type: "text", nullable: true),
                    submitted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    cancel_requested_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    xmin = table.Column<uint>(type: "xid", rowVersion: true, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_chains", x => x.id);
                    table.CheckConstraint("ck_chains_status", "status IN ('running', 'cancelling', 'succeeded', 'failed', 'cancelled', 'rejected')");
                    table.CheckConstraint("ck_chains_step_count", "step_count >= 0");
                });

            migrationBuilder.CreateTable(
                name: "evaluation_suites",
                columns: table => new
                {
                    name = table.Column<string>(type: "text", nullable: false),
                    task = table.Column<string>(type: "text", nullable: false),
                    directions = table.Column<string[]>(type: "text[]", nullable: false),
                    protocol = table.Column<string>(type: "text", nullable: false),
                    split = table.Column<string>(type: "text", nullable: false),
                    dataset = table.Column<string>(type: "text", nullable: false),
                    finetune_json = table.Column<string>(type: "jsonb", nullable: true),
                    enabled = table.Column<bool>(type: "boolean", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_evaluation_suites", x => x.name);
                    table.CheckConstraint("ck_evaluation_suites_directions", "cardinality(directions) > 0");
                    table.CheckConstraint("ck_evaluation_suites_protocol", "protocol IN ('held-out', 'reference')");
                });

            migrationBuilder.CreateTable(
                name: "outbox_messages",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    sequence = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                    message_type = table.Column<string>(type: "text", nullable: false),
                    body = table.Column<string>(type: "jsonb", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    sent_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    last_error = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_outbox_messages", x => x.id);
                    table.CheckConstraint("ck_outbox_messages_attempts", "attempts >= 0");
                });

            migrationBuilder.CreateTable(
                name: "processed_messages",
                columns: table => new
                {
                    consumer = table.Column<string>(type: "text", nullable: false),
                    message_id = table.Column<Guid>(type: "uuid", nullable: false),
                    processed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_processed_messages", x => new { x.consumer, x.message_id });
                });

            migrationBuilder.CreateTable(
                name: "chain_steps",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    chain_id = table.Column<Guid>(type: "uuid", nullable: false),
                    parent_step_id = table.Column<Guid>(type: "uuid", nullable: true),
                    kind = table.Column<string>(type: "text", nullable: false),
                    label = table.Column<string>(type: "text", nullable: false),
                    step_key = table.Column<string>(type: "text", nullable: false),
                    job_id = table.Column<Guid>(type: "uuid", nullable: false),
                    status = table.Column<string>(type: "text", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    reason = table.Column<string>(type: "text", nullable: true),
                    result_ref = table.Column<string>(type: "text", nullable: true),
                    result_json = table.Column<string>(type: "jsonb", nullable: true),
                    reused_from = table.Column<string>(type: "text", nullable: true),
                    seed = table.Column<long>(type: "bigint", nullable: true),
                    task = table.Column<string>(type: "text", nullable: true),
                    source_modality = table.Column<string>(type: "text", nullable: true),
                    target_modality = table.Column<string>(type: "text", nullable: true),
                    checkpoint_sha256 = table.Column<string>(type: "text", nullable: true),
                    head_sha256 = table.Column<string>(type: "text", nullable: true),
                    command_type = table.Column<string>(type: "text", nullable: true),
                    command_json = table.Column<string>(type: "jsonb", nullable: true),
                    progress_step = table.Column<long>(type: "bigint", nullable: true),
                    progress_total = table.Column<long>(type: "bigint", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    dispatched_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    xmin = table.Column<uint>(type: "xid", rowVersion: true, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_chain_steps", x => x.id);
                    table.CheckConstraint("ck_chain_steps_attempts", "attempts >= 0");
                    table.CheckConstraint("ck_chain_steps_kind", "kind IN ('pretrain', 'register', 'finetune', 'evaluate')");
                    table.CheckConstraint("ck_chain_steps_status", "status IN ('pending', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled', 'skipped')");
                    table.CheckConstraint("ck_chain_steps_step_key", "step_key ~ '^[0-9a-f]{64}$'");
                    table.ForeignKey(
                        name: "fk_chain_steps_chain_steps_parent_step_id",
                        column: x => x.parent_step_id,
                        principalTable: "chain_steps",
                        principalColumn: "id");
                    table.ForeignKey(
                        name: "fk_chain_steps_chains_chain_id",
                        column: x => x.chain_id,
                        principalTable: "chains",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "reevaluation_requests",
                columns: table => new
                {
                    pair_key = table.Column<string>(type: "text", nullable: false),
                    attempt = table.Column<int>(type: "integer", nullable: false),
                    checkpoint_sha256 = table.Column<string>(type: "text", nullable: false),
                    suite_name = table.Column<string>(type: "text", nullable: false),
                    eval_code_version = table.Column<string>(type: "text", nullable: false),
                    chain_id = table.Column<Guid>(type: "uuid", nullable: false),
                    requested_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_reevaluation_requests", x => new { x.pair_key, x.attempt });
                    table.CheckConstraint("ck_reevaluation_requests_attempt", "attempt >= 1");
                    table.CheckConstraint("ck_reevaluation_requests_pair_key", "pair_key ~ '^[0-9a-f]{64}$'");
                    table.ForeignKey(
                        name: "fk_reevaluation_requests_checkpoints_checkpoint_sha256",
                        column: x => x.checkpoint_sha256,
                        principalTable: "checkpoints",
                        principalColumn: "sha256",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_reevaluation_requests_evaluation_suites_suite_name",
                        column: x => x.suite_name,
                        principalTable: "evaluation_suites",
                        principalColumn: "name",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "ix_chain_steps_checkpoint_sha256",
                table: "chain_steps",
                column: "checkpoint_sha256");

            migrationBuilder.CreateIndex(
                name: "ix_chain_steps_job_id",
                table: "chain_steps",
                column: "job_id");

            migrationBuilder.CreateIndex(
                name: "ix_chain_steps_parent_step_id",
                table: "chain_steps",
                column: "parent_step_id");

            migrationBuilder.CreateIndex(
                name: "ix_chain_steps_status_dispatched_at",
                table: "chain_steps",
                columns: new[] { "status", "dispatched_at" });

            migrationBuilder.CreateIndex(
                name: "ix_chain_steps_step_key_status",
                table: "chain_steps",
                columns: new[] { "step_key", "status" });

            migrationBuilder.CreateIndex(
                name: "ux_chain_steps_chain_id_step_key",
                table: "chain_steps",
                columns: new[] { "chain_id", "step_key" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_chains_status",
                table: "chains",
                column: "status");

            migrationBuilder.CreateIndex(
                name: "ix_outbox_messages_sent_at",
                table: "outbox_messages",
                column: "sent_at");

            migrationBuilder.CreateIndex(
                name: "ix_outbox_messages_unsent",
                table: "outbox_messages",
                column: "sequence",
                filter: "sent_at IS NULL");

            migrationBuilder.CreateIndex(
                name: "ix_processed_messages_processed_at",
                table: "processed_messages",
                column: "processed_at");

            migrationBuilder.CreateIndex(
                name: "ix_reevaluation_requests_checkpoint_sha256",
                table: "reevaluation_requests",
                column: "checkpoint_sha256");

            migrationBuilder.CreateIndex(
                name: "ix_reevaluation_requests_suite_name",
                table: "reevaluation_requests",
                column: "suite_name");

            migrationBuilder.CreateIndex(
                name: "ux_reevaluation_requests_chain_id",
                table: "reevaluation_requests",
                column: "chain_id",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "chain_steps");

            migrationBuilder.DropTable(
                name: "outbox_messages");

            migrationBuilder.DropTable(
                name: "processed_messages");

            migrationBuilder.DropTable(
                name: "reevaluation_requests");

            migrationBuilder.DropTable(
                name: "chains");

            migrationBuilder.DropTable(
                name: "evaluation_suites");
        }
    }
}
