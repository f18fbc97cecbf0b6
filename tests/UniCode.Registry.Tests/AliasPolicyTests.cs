namespace UniCode.Registry.Tests;

public sealed class AliasPolicyTests
{
    [Fact]
    public void Automatic_aliases_have_fixed_shapes()
    {
        var run = Guid.Parse("0b5c6a3e-59e4-4d3e-9a55-0c1a2b3c4d5e");
        Assert.Equal("run/0b5c6a3e-59e4-4d3e-9a55-0c1a2b3c4d5e/latest", AliasPolicy.RunLatest(run));
        Assert.Equal("config/aa/bb/latest", AliasPolicy.ConfigLatest("aa", "bb"));
        Assert.True(AliasPolicy.IsReserved(AliasPolicy.RunLatest(run)));
        Assert.True(AliasPolicy.IsReserved("config/x"));
        Assert.False(AliasPolicy.IsReserved("best"));
    }

    [Theory]
    [InlineData("best")]
    [InlineData("best-val")]
    [InlineData("paper/table2")]
    [InlineData("v1.2_nightly")]
    [InlineData("deadbeef")]
    public void User_aliases_that_are_accepted(string name) => Assert.Null(AliasPolicy.ValidateUserAlias(name));

    [Theory]
    [InlineData("", "alias is empty; expected a name such as 'best' or 'paper/table2'")]
    [InlineData("run/x/latest", "alias 'run/x/latest' is in the registry's own namespace ('run/…', 'config/…'), which moves on every registration; choose another name")]
    [InlineData("best val", "alias 'best val' is malformed; expected letters, digits, '.', '_' or '-' in '/'-separated segments, starting with a letter or digit")]
    [InlineData("/best", "alias '/best' is malformed; expected letters, digits, '.', '_' or '-' in '/'-separated segments, starting with a letter or digit")]
    [InlineData("best//x", "alias 'best//x' is malformed; expected letters, digits, '.', '_' or '-' in '/'-separated segments, starting with a letter or digit")]
    [InlineData("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", "alias 'BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD' is 64 hex digits and would read as a sha256; choose another name")]
    public void User_aliases_that_are_refused_say_why(string name, string reason) => Assert.Equal(reason, AliasPolicy.ValidateUserAlias(name));

    [Theory]
    [InlineData("file:///tmp/a%20b.ckpt", "/tmp/a b.ckpt")]
    [InlineData("/tmp/a.ckpt", "/tmp/a.ckpt")]
    [InlineData("relative/a.ckpt", null)]
    [InlineData("s3://bucket/a.ckpt", null)]
    [InlineData("", null)]
    public void Checkpoint_uris_name_local_files(string uri, string? path) => Assert.Equal(path, CheckpointRegistry.LocalPath(uri));
}
