using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace UniCode.Migrations
{
    /// <summary>
    /// The Quartz.NET 4.7.3 PostgreSQL job store (15 qrtz_ tables), from the script embedded in
    /// Quartz.dll (see <see cref="QuartzJobStoreSchema"/>). Quartz's own tables are not in the EF
    /// model: the scheduler reads and writes them through its AdoJobStore with table prefix QRTZ_.
    /// </summary>
    public partial class QuartzJobStore : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(QuartzJobStoreSchema.CreateScript());
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(QuartzJobStoreSchema.DropScript());
        }
    }
}
