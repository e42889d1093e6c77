namespace LoomSched.Triggers;

/// <summary>The slot maths of one schedule. Pure: no clock of its own.</summary>
public interface ITrigger
{
    /// <summary>
    /// The first slot strictly after <paramref name="instant"/>, or null when there is none.
    /// <paramref name="anchor"/> is when the schedule started; interval slots are <c>anchor + k·interval</c>
    /// (k ≥ 1), cron slots ignore it.
    /// </summary>
    DateTimeOffset? NextAfter(DateTimeOffset instant, DateTimeOffset anchor);

    /// <summary>A short human description, e.g. <c>cron "0 * * * *" (Europe/Berlin)</c>.</summary>
    string Describe();
}
