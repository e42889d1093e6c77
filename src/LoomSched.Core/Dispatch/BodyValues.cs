namespace LoomSched.Dispatch;

/// <summary>
/// What one message has of its own, its ids and times spelled quoted as they are written, and its expansion map: what
/// fills a body's holes (<see cref="BodyHole"/>). Spelled on the caller's stack, so a body costs no object of its own.
/// </summary>
internal readonly ref struct BodyValues
{
    /// <summary>The bytes of an id as it is written: a UUID in quotes.</summary>
    public const int QuotedIdLength = UuidV4.Length + 2;

    /// <summary>The most bytes of a time as it is written, in quotes.</summary>
    public const int QuotedTimeLength = LoomTime.MaxLength + 2;

    private readonly ReadOnlySpan<byte> _quotedId;
    private readonly ReadOnlySpan<byte> _quotedMessageId;
    private readonly ReadOnlySpan<byte> _quotedCreatedAt;
    private readonly ReadOnlySpan<byte> _quotedSlot;

    /// <param name="quotedId">The body's id (<see cref="NewQuotedId"/>).</param>
    /// <param name="quotedMessageId">The envelope's <c>message_id</c> (<see cref="NewQuotedMessageId"/>); empty on the bare wire.</param>
    /// <param name="quotedCreatedAt">When the message was made (<see cref="QuotedTime"/>).</param>
    /// <param name="quotedSlot">The slot (<see cref="QuotedTime"/>).</param>
    /// <param name="overlay">The expansion map merged over the config's, or null.</param>
    public BodyValues(
        ReadOnlySpan<byte> quotedId, ReadOnlySpan<byte> quotedMessageId, ReadOnlySpan<byte> quotedCreatedAt,
        ReadOnlySpan<byte> quotedSlot, IEnumerable<KeyValuePair<string, object?>>? overlay)
    {
        _quotedId = quotedId;
        _quotedMessageId = quotedMessageId;
        _quotedCreatedAt = quotedCreatedAt;
        _quotedSlot = quotedSlot;
        Overlay = overlay;
    }

    /// <summary>The expansion map merged over the config's, or null.</summary>
    public IEnumerable<KeyValuePair<string, object?>>? Overlay { get; }

    /// <summary>The bytes of a hole other than <see cref="BodyHole.Map"/>.</summary>
    public ReadOnlySpan<byte> Of(BodyHole hole) => hole switch
    {
        BodyHole.Id => _quotedId,
        BodyHole.MessageId => _quotedMessageId,
        BodyHole.Created => _quotedCreatedAt,
        BodyHole.Slot => _quotedSlot,
        _ => throw new ArgumentOutOfRangeException(nameof(hole), hole, "the map is written, not copied"),
    };

    /// <summary>Writes a new random UUID, quoted, into <paramref name="into"/> (<see cref="QuotedIdLength"/> bytes).</summary>
    public static void NewQuotedId(Span<byte> into)
    {
        into[0] = (byte)'"';
        UuidV4.Fill(into.Slice(1, UuidV4.Length));
        into[UuidV4.Length + 1] = (byte)'"';
    }

    /// <summary>Writes a new UUID v7 of <paramref name="at"/>, quoted, into <paramref name="into"/> (<see cref="QuotedIdLength"/> bytes).</summary>
    public static void NewQuotedMessageId(Span<byte> into, DateTimeOffset at)
    {
        into[0] = (byte)'"';
        UuidV7.Fill(into.Slice(1, UuidV7.Length), at);
        into[UuidV7.Length + 1] = (byte)'"';
    }

    /// <summary>Spells <paramref name="instant"/> the Loom way, quoted, into <paramref name="into"/>; returns its length.</summary>
    /// <param name="instant">The instant.</param>
    /// <param name="into">Where it goes (<see cref="QuotedTimeLength"/> bytes).</param>
    /// <param name="speller">Spells it, when instants come one after another in the same second; null: from scratch.</param>
    public static int QuotedTime(DateTimeOffset instant, Span<byte> into, LoomTime.Speller? speller = null)
    {
        into[0] = (byte)'"';
        int length = speller is null ? LoomTime.FormatUtf8(instant, into[1..]) : speller.FormatUtf8(instant, into[1..]);
        into[length + 1] = (byte)'"';
        return length + 2;
    }
}
