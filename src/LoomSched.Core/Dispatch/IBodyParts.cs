namespace LoomSched.Dispatch;

/// <summary>
/// Where <see cref="BodyLayout"/> spells a body: a <see cref="WireFrame"/> recording it once for a fan-out's messages,
/// or a <see cref="DirectBody"/> writing one message at once.
/// </summary>
internal interface IBodyParts
{
    /// <summary>JSON as it is written: punctuation, field names, <c>null</c>, enumeration words in quotes.</summary>
    void Raw(ReadOnlySpan<byte> json);

    /// <summary>Text from the config, quoted and escaped as the serializer does.</summary>
    void Text(string value);

    /// <summary>What each message has of its own.</summary>
    void Hole(BodyHole hole);
}
