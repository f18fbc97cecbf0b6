using UniCode.Messaging;

namespace UniCode.Integration.Tests.Messaging;

/// <summary>Expected values computed independently with Python's hashlib (see the comments).</summary>
public sealed class StepKeysTests
{
    // sha256(b'14:unicode-step/1,8:pretrain,7:{"a":1},2:h1,2:h2,7:abc1234,')
    private const string Key = "963feab4a1faa889fdfa0e03e6b5ba0bd0a5a8c57ec0c444ce7a55c7dbf8a7ed";

    [Fact]
    public void Step_key_is_the_sha256_of_the_netstring_encoded_fields()
    {
        Assert.Equal(Key, StepKeys.Compute("pretrain", """{"a":1}""", ["h1", "h2"], "abc1234"));
    }

    [Fact]
    public void Input_order_and_field_boundaries_change_the_key()
    {
        // swapped inputs: sha256(b'14:unicode-step/1,8:pretrain,7:{"a":1},2:h2,2:h1,7:abc1234,')
        Assert.Equal("3029312053e625c3b6d63933d31b386d8c59f033fd6165eadbeb89ac0a4335de",
            StepKeys.Compute("pretrain", """{"a":1}""", ["h2", "h1"], "abc1234"));
        // moving text from one field to the next is a different key
        Assert.NotEqual(StepKeys.Compute("pretrain", "ab", ["c"], "v"), StepKeys.Compute("pretrain", "a", ["bc"], "v"));
    }

    [Fact]
    public void Job_id_is_a_version_8_uuid_from_the_step_key()
    {
        // sha256(b"unicode-job/1:" + Key)[:16] = cb89713b77f0a9df6428ac99db975bea; version nibble -> 8, variant bits -> 10
        var id = StepKeys.JobId(Key);

        Assert.Equal(Guid.Parse("cb89713b-77f0-89df-a428-ac99db975bea"), id);
        Assert.Equal(8, id.Version);
        Assert.Equal(id, StepKeys.JobId(Key));
    }
}
