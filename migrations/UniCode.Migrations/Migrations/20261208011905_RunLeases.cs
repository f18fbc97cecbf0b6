using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace UniCode.Migrations
{
    /// <summary>
    /// Run leases (issue 10): runs gains worker and lease_renewed_at, so a second delivery of a job that a live worker is
    /// running waits instead of training it twice (RunLedger.BeginAsync).
    /// </summary>
    public partial class RunLeases : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "lease_renewed_at",
                table: "runs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "worker",
                table: "runs",
                type: "text",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "lease_renewed_at",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "worker",
                table: "runs");
        }
    }
}
