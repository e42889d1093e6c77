using LoomSched.Expansion;
using static LoomSched.BuiltIns.Tests.Support.Expansions;

namespace LoomSched.BuiltIns.Tests;

/// <summary>range: {"index": i} for every i below expand_args.count.</summary>
public class RangeFacts
{
    [Fact]
    public async Task A_count_of_three_gives_indexes_zero_to_two()
    {
        var maps = await Expand("range", Args(("count", 3L)));

        Assert.Equal([0, 1, 2], maps.Select(m => Assert.Single(m, kv => kv.Key == "index").Value).ToArray());
    }

    [Fact]
    public async Task A_count_of_zero_gives_no_maps() => Assert.Empty(await Expand("range", Args(("count", 0L))));

    [Fact]
    public void A_count_beyond_64_bits_is_a_validation_error_naming_its_digits() =>
        Assert.Equal(
            [new("count", "'count' must be a whole number from 0 to 2147483647, not 18446744073709551616")],
            Validate("range", Args(("count", (System.Numerics.BigInteger)ulong.MaxValue + 1))));

    [Theory]
    [InlineData(-1L, "'count' must be a whole number from 0 to 2147483647, not -1")]
    [InlineData(2.5, "'count' must be a whole number from 0 to 2147483647, not 2.5")]
    [InlineData("3", "'count' must be a whole number from 0 to 2147483647, not the string \"3\"")]
    [InlineData(true, "'count' must be a whole number from 0 to 2147483647, not true")]
    [InlineData(3_000_000_000L, "'count' must be a whole number from 0 to 2147483647, not 3000000000")]
    [InlineData(null, "'count' is required (a whole number of at least 0)")]
    public async Task A_bad_count_is_a_validation_error_and_fails_the_fire(object? count, string message)
    {
        Assert.Equal([new("count", message)], Validate("range", Args(("count", count))));

        var error = await Assert.ThrowsAsync<ExpansionException>(() => Expand("range", Args(("count", count))));
        Assert.Equal($"range: expand_args {message}", error.Message);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(5L)]
    [InlineData(7)]
    public void A_whole_count_of_at_least_zero_is_valid(object count) => Assert.Empty(Validate("range", Args(("count", count))));

    [Fact]
    public void An_argument_range_does_not_read_is_a_note_that_suggests_the_one_it_does()
    {
        var problem = Assert.Single(Validate("range", Args(("count", 3L), ("cout", 5L))));

        Assert.True(problem.IsNote);
        Assert.Equal(("cout", "'cout' is ignored: range reads only 'count' (did you mean 'count'?)"), (problem.Key, problem.Message));
    }
}
