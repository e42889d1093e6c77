namespace LoomSched.Scheduling;

/// <summary>A failure a fire expects (an expansion's, a lapsed lease): logged as its message alone, without a stack trace.</summary>
internal sealed class FireFailedException(string message) : Exception(message);
