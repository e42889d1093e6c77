using System.Globalization;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace LoomSched.EndToEnd.Tests.HighAvailability;

/// <summary>Reads back what a JetStream capture stream holds: the slot (Loom-Scheduled-For) of every message.</summary>
internal static class CapturedSlots
{
    public static async Task<List<DateTimeOffset>> ReadAsync(NatsJSContext js, string stream)
    {
        var info = await js.GetStreamAsync(stream);
        var slots = new List<DateTimeOffset>();
        if (info.Info.State.Messages == 0)
        {
            return slots;
        }
        var consumer = await js.CreateOrderedConsumerAsync(stream);
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(serializer: NatsRawSerializer<byte[]>.Default))
        {
            slots.Add(DateTimeOffset.Parse(msg.Headers!["Loom-Scheduled-For"].ToString(), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal));
            if (msg.Metadata?.Sequence.Stream >= info.Info.State.LastSeq)
            {
                break;
            }
        }
        return slots;
    }

    /// <summary>The slots of a fixed grid from the first to the last captured that the capture lacks.</summary>
    public static List<DateTimeOffset> Missing(IReadOnlyList<DateTimeOffset> slots, TimeSpan interval)
    {
        var ordered = slots.Order().ToList();
        int expected = (int)((ordered[^1] - ordered[0]) / interval) + 1;
        return [.. Enumerable.Range(0, expected).Select(k => ordered[0] + (k * interval)).Except(ordered)];
    }
}
