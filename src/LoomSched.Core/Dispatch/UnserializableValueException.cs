namespace LoomSched.Dispatch;

/// <summary>A value in a config or expansion map that cannot be written as JSON.</summary>
public sealed class UnserializableValueException(string message) : Exception(message);
