using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using UniCode.Persistence;

#nullable disable

namespace UniCode.Migrations
{
    /// <summary>
    /// The learning check beside every score (issue 9, hand-written, no model change): v_leaderboard gains the columns
    /// learned_share, collapsed_share, chance and probe_ceiling, read from the 'learned', 'collapsed', 'chance' and
    /// 'probe_ceiling' result rows of the same group. SQL in Sql/LearningColumns.{Up,Down}.sql.
    /// </summary>
    [DbContext(typeof(ResultsDbContext))]
    [Migration("20261205030000_LearningColumns")]
    public partial class LearningColumns : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(ResultsViewsSql.LearningColumnsUp);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(ResultsViewsSql.LearningColumnsDown);
        }
    }
}
