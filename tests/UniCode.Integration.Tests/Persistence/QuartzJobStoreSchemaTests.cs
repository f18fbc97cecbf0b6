using UniCode.Migrations;

namespace UniCode.Integration.Tests.Persistence;

public sealed class QuartzJobStoreSchemaTests
{
    [Fact]
    public void The_pinned_script_is_the_one_inside_the_referenced_Quartz()
    {
        var script = QuartzJobStoreSchema.CreateScript();   // throws if the resource's sha256 differs from the pin

        Assert.DoesNotContain("{0}", script);
        Assert.DoesNotContain("{1}", script);
        Assert.Contains("CREATE TABLE IF NOT EXISTS qrtz_job_details (", script);
        Assert.Contains("CREATE INDEX IF NOT EXISTS idx_qrtz_t_nft_st ON qrtz_triggers", script);
        Assert.Equal(4, typeof(Quartz.IJob).Assembly.GetName().Version!.Major);
    }

    [Fact]
    public void Drop_script_drops_referencing_tables_before_the_tables_they_reference()
    {
        var drops = QuartzJobStoreSchema.DropScript().Split('\n');

        Assert.Equal(15, drops.Length);
        Assert.Equal("DROP TABLE IF EXISTS qrtz_job_status;", drops[0]);
        Assert.True(Array.IndexOf(drops, "DROP TABLE IF EXISTS qrtz_simple_triggers;") < Array.IndexOf(drops, "DROP TABLE IF EXISTS qrtz_triggers;"));
        Assert.True(Array.IndexOf(drops, "DROP TABLE IF EXISTS qrtz_triggers;") < Array.IndexOf(drops, "DROP TABLE IF EXISTS qrtz_job_details;"));
    }
}
