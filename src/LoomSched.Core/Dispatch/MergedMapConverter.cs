using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoomSched.Dispatch;

/// <summary>Writes a <see cref="MergedMap"/>; reading is not supported (the scheduler only writes messages).</summary>
public sealed class MergedMapConverter : JsonConverter<MergedMap>
{
    /// <inheritdoc />
    public override MergedMap Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("loomsched writes Loom messages; it does not read them.");

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, MergedMap value, JsonSerializerOptions options) => value.Write(writer);
}
