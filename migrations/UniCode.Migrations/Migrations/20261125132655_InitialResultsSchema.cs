using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace UniCode.Migrations
{
    /// <inheritdoc />
    public partial class InitialResultsSchema : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "datasets",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    name = table.Column<string>(type: "text", nullable: false),
                    kind = table.Column<string>(type: "text", nullable: false),
                    content_hash = table.Column<string>(type: "text", nullable: false),
                    clip_count = table.Column<int>(type: "integer", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    description = table.Column<string>(type: "jsonb", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_datasets", x => x.id);
                    table.CheckConstraint("ck_datasets_clip_count", "clip_count >= 0");
                    table.CheckConstraint("ck_datasets_content_hash", "content_hash ~ '^[0-9a-f]{64}$'");
                    table.CheckConstraint("ck_datasets_kind", "kind IN ('ave', 'vggsound', 'avvp', 'npy', 'synth')");
                    table.CheckConstraint("ck_datasets_name_has_kind", "starts_with(name, kind || ':') AND length(name) > length(kind) + 1");
                });

            migrationBuilder.CreateTable(
                name: "runs",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    kind = table.Column<string>(type: "text", nullable: false),
                    chain_id = table.Column<Guid>(type: "uuid", nullable: true),
                    step_key = table.Column<string>(type: "text", nullable: false),
                    config_json = table.Column<string>(type: "jsonb", nullable: false),
                    config_hash = table.Column<string>(type: "text", nullable: false),
                    seed = table.Column<long>(type: "bigint", nullable: false),
                    code_version = table.Column<string>(type: "text", nullable: false),
                    code_dirty = table.Column<bool>(type: "boolean", nullable: false),
                    dataset_hash = table.Column<string>(type: "text", nullable: false),
                    device = table.Column<string>(type: "text", nullable: false),
                    status = table.Column<string>(type: "text", nullable: false),
                    error = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    xmin = table.Column<uint>(type: "xid", rowVersion: true, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_runs", x => x.id);
                    table.CheckConstraint("ck_runs_kind", "kind IN ('pretrain', 'finetune', 'evaluate')");
                    table.CheckConstraint("ck_runs_status", "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')");
                    table.CheckConstraint("ck_runs_step_key", "step_key ~ '^[0-9a-f]{64}$'");
                });

            migrationBuilder.CreateTable(
                name: "checkpoints",
                columns: table => new
                {
                    sha256 = table.Column<string>(type: "text", nullable: false),
                    run_id = table.Column<Guid>(type: "uuid", nullable: false),
                    step = table.Column<long>(type: "bigint", nullable: false),
                    epoch = table.Column<int>(type: "integer", nullable: false),
                    config_hash = table.Column<string>(type: "text", nullable: false),
                    dataset_hash = table.Column<string>(type: "text", nullable: false),
                    seed = table.Column<long>(type: "bigint", nullable: false),
                    code_version = table.Column<string>(type: "text", nullable: false),
                    parent_sha256 = table.Column<string>(type: "text", nullable: true),
                    uri = table.Column<string>(type: "text", nullable: false),
                    size_bytes = table.Column<long>(type: "bigint", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_checkpoints", x => x.sha256);
                    table.CheckConstraint("ck_checkpoints_not_own_parent", "parent_sha256 IS NULL OR parent_sha256 <> sha256");
                    table.CheckConstraint("ck_checkpoints_sha256", "sha256 ~ '^[0-9a-f]{64}$'");
                    table.CheckConstraint("ck_checkpoints_size_bytes", "size_bytes >= 0");
                    table.ForeignKey(
                        name: "fk_checkpoints_checkpoints_parent_sha256",
                        column: x => x.parent_sha256,
                        principalTable: "checkpoints",
                        principalColumn: "sha256",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_checkpoints_runs_run_id",
                        column: x => x.run_id,
                        principalTable: "runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "metric_points",
                columns: table => new
                {
                    run_id = table.Column<Guid>(type: "uuid", nullable: false),
                    step = table.Column<long>(type: "bigint", nullable: false),
                    key = table.Column<string>(type: "text", nullable: false),
                    value = table.Column<double>(type: "double precision", nullable: false),
                    recorded_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_metric_points", x => new { x.run_id, x.step, x.key });
                    table.ForeignKey(
                        name: "fk_metric_points_runs_run_id",
                        column: x => x.run_id,
                        principalTable: "runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "checkpoint_aliases",
                columns: table => new
                {
                    name = table.Column<string>(type: "text", nullable: false),
                    checkpoint_sha256 = table.Column<string>(type: "text", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    xmin = table.Column<uint>(type: "xid", rowVersion: true, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_checkpoint_aliases", x => x.name);
                    table.ForeignKey(
                        name: "fk_checkpoint_aliases_checkpoints_checkpoint_sha256",
                        column: x => x.checkpoint_sha256,
                        principalTable: "checkpoints",
                        principalColumn: "sha256",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "downstream_results",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    run_id = table.Column<Guid>(type: "uuid", nullable: false),
                    checkpoint_sha256 = table.Column<string>(type: "text", nullable: false),
                    task = table.Column<string>(type: "text", nullable: false),
                    source_modality = table.Column<string>(type: "text", nullable: false),
                    target_modality = table.Column<string>(type: "text", nullable: false),
                    split = table.Column<string>(type: "text", nullable: false),
                    protocol = table.Column<string>(type: "text", nullable: false),
                    metric = table.Column<string>(type: "text", nullable: false),
                    value = table.Column<double>(type: "double precision", nullable: false),
                    seed = table.Column<long>(type: "bigint", nullable: false),
                    eval_code_version = table.Column<string>(type: "text", nullable: false),
                    dataset_hash = table.Column<string>(type: "text", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_downstream_results", x => x.id);
                    table.ForeignKey(
                        name: "fk_downstream_results_checkpoints_checkpoint_sha256",
                        column: x => x.checkpoint_sha256,
                        principalTable: "checkpoints",
                        principalColumn: "sha256",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "fk_downstream_results_runs_run_id",
                        column: x => x.run_id,
                        principalTable: "runs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "ix_checkpoint_aliases_checkpoint_sha256",
                table: "checkpoint_aliases",
                column: "checkpoint_sha256");

            migrationBuilder.CreateIndex(
                name: "ix_checkpoints_parent_sha256",
                table: "checkpoints",
                column: "parent_sha256");

            migrationBuilder.CreateIndex(
                name: "ix_checkpoints_run_id",
                table: "checkpoints",
                column: "run_id");

            migrationBuilder.CreateIndex(
                name: "ix_datasets_name",
                table: "datasets",
                column: "name");

            migrationBuilder.CreateIndex(
                name: "ux_datasets_content_hash",
                table: "datasets",
                column: "content_hash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_downstream_results_run_id",
                table: "downstream_results",
                column: "run_id");

            migrationBuilder.CreateIndex(
                name: "ux_downstream_results_natural_key",
                table: "downstream_results",
                columns: new[] { "checkpoint_sha256", "task", "source_modality", "target_modality", "split", "protocol", "metric", "eval_code_version", "dataset_hash" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_runs_chain_id",
                table: "runs",
                column: "chain_id");

            migrationBuilder.CreateIndex(
                name: "ix_runs_config_hash",
                table: "runs",
                column: "config_hash");

            migrationBuilder.CreateIndex(
                name: "ix_runs_dataset_hash",
                table: "runs",
                column: "dataset_hash");

            migrationBuilder.CreateIndex(
                name: "ux_runs_step_key",
                table: "runs",
                column: "step_key",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "checkpoint_aliases");

            migrationBuilder.DropTable(
                name: "datasets");

            migrationBuilder.DropTable(
                name: "downstream_results");

            migrationBuilder.DropTable(
                name: "metric_points");

            migrationBuilder.DropTable(
                name: "checkpoints");

            migrationBuilder.DropTable(
                name: "runs");
        }
    }
}
