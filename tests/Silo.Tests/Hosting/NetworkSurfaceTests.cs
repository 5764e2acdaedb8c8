using System.Globalization;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>What a real silo process listens on, read from the kernel's socket tables.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class NetworkSurfaceTests(SiloProcessFixture fixture) : IClassFixture<SiloProcessFixture>
{
    [Fact]
    public async Task TheSiloPortListensOnTheAdvertisedAddressOnly_AndThereIsNoClientGateway()
    {
        var silo = await fixture.StartSiloAsync(new Dictionary<string, string?> { ["GATEWAY_PORT"] = null });

        var listening = ListeningSockets(silo.Id);

        // The HTTP port (health, dashboard) is public; the silo port is on the advertised 127.0.0.1; nothing else.
        Assert.Equal(
            [$"0.0.0.0/0:{silo.HttpPort}", $"127.0.0.1:{silo.SiloPort}"],
            listening.Select(endpoint => endpoint.Address == "::" ? $"0.0.0.0/0:{endpoint.Port}" : $"{endpoint.Address}:{endpoint.Port}")
                .Distinct()
                .Order(StringComparer.Ordinal));
    }

    /// <summary>The TCP sockets the process <paramref name="pid"/> listens on (Linux: /proc).</summary>
    private static List<(string Address, int Port)> ListeningSockets(int pid)
    {
        var inodes = Directory.GetFiles($"/proc/{pid}/fd")
            .Select(fd => new FileInfo(fd).LinkTarget)
            .Where(target => target?.StartsWith("socket:[", StringComparison.Ordinal) == true)
            .Select(target => target!["socket:[".Length..^1])
            .ToHashSet(StringComparer.Ordinal);
        var sockets = new List<(string, int)>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[3] != "0A" || !inodes.Contains(fields[9]))
                {
                    continue;
                }

                var (hex, port) = (fields[1].Split(':')[0], int.Parse(fields[1].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                sockets.Add((Address(hex), port));
            }
        }

        return sockets;
    }

    /// <summary>An address as /proc/net writes it (32-bit words in host byte order) in its usual text.</summary>
    private static string Address(string hex)
    {
        var bytes = Convert.FromHexString(hex);
        for (var word = 0; word < bytes.Length; word += 4)
        {
            Array.Reverse(bytes, word, 4);
        }

        var address = new System.Net.IPAddress(bytes);
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4().ToString() : address.ToString();
    }
}
