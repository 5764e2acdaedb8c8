using System.Net;
using System.Net.Sockets;

namespace GenerationWorker.Bench.Harness;

/// <summary>Free loopback ports.</summary>
internal static class Ports
{
    private static readonly HashSet<int> Given = [];

    /// <summary>A port nobody listens on now, never the same twice in this run.</summary>
    public static int Free()
    {
        lock (Given)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
