using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using UniCode.Persistence;

#nullable disable

namespace UniCode.Migrations
{
    /// <summary>
    /// The analyst layer (hand-written, no model change): views v_results, v_leaderboard, v_ablation,
    /// v_checkpoints (and v_checkpoint_origin), the table pinned_baselines with the default pin 'baseline',
    /// the unicode_* helper functions, and the read-only role unicode_analyst with SELECT on every table and
    /// view. The SQL is in Sql/ResultsViews.Up.sql and Sql/ResultsViews.Down.sql (see <see cref="ResultsViewsSql"/>
    /// and docs/sql/README.md).
    /// </summary>
    [DbContext(typeof(ResultsDbContext))]
    [Migration("20261125160000_ResultsViews")]
    public partial class ResultsViews : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(ResultsViewsSql.Up);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(ResultsViewsSql.Down);
        }
    }
}
