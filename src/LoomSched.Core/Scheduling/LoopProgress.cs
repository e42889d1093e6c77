namespace LoomSched.Scheduling;

/// <summary>
/// Where the timer loop stands against its own plan: a loop far past the time it planned to run again is stuck (a
/// pass that does not end, a wake that does not come). Read without waking the loop, so an idle one stays asleep.
/// </summary>
/// <param name="SinceRan">How long ago the loop last woke or went to sleep; null before its first pass.</param>
/// <param name="Overdue">
/// How far past the time it planned to run again (negative while that time is ahead; in a pass, how long the pass has
/// taken); null while only a command can wake it.
/// </param>
public readonly record struct LoopProgress(TimeSpan? SinceRan, TimeSpan? Overdue);
