namespace GenerationWorker.Silo.Tests.Operators;

/// <summary>A gauge's data point as an OTLP/HTTP metrics export carried it.</summary>
public sealed record GaugePoint(string Metric, IReadOnlyDictionary<string, string> Attributes, double Value);

/// <summary>
/// Reads the gauge data points of an OTLP <c>ExportMetricsServiceRequest</c> (protobuf), walking only the fields on the
/// way: resource_metrics (1) > scope_metrics (2) > metrics (2) > name (1), gauge (5) > data_points (1) > attributes
/// (7, string values), as_double (4) or as_int (6).
/// </summary>
public static class OtlpGauges
{
    public static IReadOnlyList<GaugePoint> Read(byte[] body)
    {
        var points = new List<GaugePoint>();
        foreach (var resource in Fields(body, 1))
        {
            foreach (var scope in Fields(resource, 2))
            {
                foreach (var metric in Fields(scope, 2))
                {
                    var name = System.Text.Encoding.UTF8.GetString(Fields(metric, 1).FirstOrDefault() ?? []);
                    foreach (var gauge in Fields(metric, 5))
                    {
                        foreach (var point in Fields(gauge, 1))
                        {
                            points.Add(Point(name, point));
                        }
                    }
                }
            }
        }

        return points;
    }

    private static GaugePoint Point(string metric, byte[] point)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        double value = double.NaN;
        foreach (var (field, wire, bytes, number) in Walk(point))
        {
            if (field == 7 && wire == 2)
            {
                var key = System.Text.Encoding.UTF8.GetString(Fields(bytes, 1).FirstOrDefault() ?? []);
                var text = Fields(bytes, 2).SelectMany(any => Fields(any, 1)).FirstOrDefault();
                attributes[key] = text is null ? "" : System.Text.Encoding.UTF8.GetString(text);
            }
            else if (field == 4 && wire == 1)
            {
                value = BitConverter.Int64BitsToDouble((long)number);
            }
            else if (field == 6 && wire == 1)
            {
                value = (long)number;
            }
        }

        return new GaugePoint(metric, attributes, value);
    }

    private static IEnumerable<byte[]> Fields(byte[] message, int wanted) =>
        Walk(message).Where(f => f.Field == wanted && f.Wire == 2).Select(f => f.Bytes);

    private static List<(int Field, int Wire, byte[] Bytes, ulong Number)> Walk(byte[] message)
    {
        var fields = new List<(int, int, byte[], ulong)>();
        var at = 0;
        while (at < message.Length)
        {
            var tag = Varint(message, ref at);
            var (field, wire) = ((int)(tag >> 3), (int)(tag & 7));
            switch (wire)
            {
                case 0:
                    fields.Add((field, wire, [], Varint(message, ref at)));
                    break;
                case 1:
                    fields.Add((field, wire, [], BitConverter.ToUInt64(message, at)));
                    at += 8;
                    break;
                case 2:
                    var length = (int)Varint(message, ref at);
                    fields.Add((field, wire, message[at..(at + length)], 0));
                    at += length;
                    break;
                case 5:
                    fields.Add((field, wire, [], BitConverter.ToUInt32(message, at)));
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"unexpected protobuf wire type {wire}");
            }
        }

        return fields;
    }

    private static ulong Varint(byte[] message, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
