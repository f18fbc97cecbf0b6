using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace UniCode.Migrations
{
    /// <summary>
    /// Heartbeats and leases (issue 10, item 2): chain_steps gains the status 'stalled', restarts, last_heartbeat_at
    /// and worker; the workers table records which job service workers the orchestrator heard from, per job kind.
    /// </summary>
    public partial class HeartbeatsAndLeases : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropCheckConstraint(
                name: "ck_chain_steps_status",
                table: "chain_steps");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "last_heartbeat_at",
                table: "chain_steps",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "restarts",
                table: "chain_steps",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "worker",
                table: "chain_steps",
                type: "text",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "workers",
                columns: table => new
                {
                    name = table.Column<string>(type: "text", nullable: false),
                    job_kind = table.Column<string>(type: "text", nullable: false),
                    service = table.Column<string>(type: "text", nullable: false),
                    queue = table.Column<string>(type: "text", nullable: false),
                    running_job_id = table.Column<Guid>(type: "uuid", nullable: true),
                    first_seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    last_seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_workers", x => new { x.name, x.job_kind });
                    table.CheckConstraint("ck_workers_job_kind", "job_kind IN ('pretrain', 'finetune', 'evaluate')");
                });

            migrationBuilder.AddCheckConstraint(
                name: "ck_chain_steps_restarts",
                table: "chain_steps",
                sql: "restarts >= 0");

            migrationBuilder.AddCheckConstraint(
                name: "ck_chain_steps_status",
                table: "chain_steps",
                sql: "status IN ('pending', 'dispatched', 'running', 'stalled', 'succeeded', 'failed', 'cancelled', 'skipped')");

            migrationBuilder.CreateIndex(
                name: "ix_workers_job_kind_last_seen_at",
                table: "workers",
                columns: new[] { "job_kind", "last_seen_at" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "workers");

            migrationBuilder.DropCheckConstraint(
                name: "ck_chain_steps_restarts",
                table: "chain_steps");

            migrationBuilder.DropCheckConstraint(
                name: "ck_chain_steps_status",
                table: "chain_steps");

            migrationBuilder.DropColumn(
                name: "last_heartbeat_at",
                table: "chain_steps");

            migrationBuilder.DropColumn(
                name: "restarts",
                table: "chain_steps");

            migrationBuilder.DropColumn(
                name: "worker",
                table: "chain_steps");

            // A stalled step was running before it went silent.
            migrationBuilder.Sql("UPDATE chain_steps SET status = 'running' WHERE status = 'stalled'");

            migrationBuilder.AddCheckConstraint(
                name: "ck_chain_steps_status",
                table: "chain_steps",
                sql: "status IN ('pending', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled', 'skipped')");
        }
    }
}
