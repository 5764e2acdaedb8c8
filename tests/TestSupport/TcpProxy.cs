using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace GenerationWorker.TestSupport;

/// <summary>
/// A TCP forwarder on <c>127.0.0.1:{free port}</c> to another endpoint (the PostgreSQL server), so that one test can cut
/// one silo off its database (<see cref="BreakAsync"/>) and give it back (<see cref="Restore"/>) without disturbing the
/// server or other tests.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _disposed = new();
    private readonly HashSet<Socket> _open = [];
    private readonly Task _acceptLoop;
    private volatile bool _broken;
    private int _accepted;
    private int _refused;

    private TcpProxy(string targetHost, int targetPort)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The port it listens on (on 127.0.0.1).</summary>
    public int Port { get; }

    /// <summary>True between <see cref="BreakAsync"/> and <see cref="Restore"/>.</summary>
    public bool IsBroken => _broken;

    /// <summary>Connections forwarded so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Connections refused while broken.</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>Starts a forwarder to <paramref name="targetHost"/>:<paramref name="targetPort"/>.</summary>
    public static TcpProxy Start(string targetHost, int targetPort) => new(targetHost, targetPort);

    /// <summary>
    /// Starts a forwarder to the server of <paramref name="connectionString"/> and returns it with the same connection
    /// string pointed at the forwarder.
    /// </summary>
    public static (TcpProxy Proxy, string ConnectionString) ForPostgres(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var proxy = Start(builder.Host ?? "127.0.0.1", builder.Port);
        builder.Host = "127.0.0.1";
        builder.Port = proxy.Port;
        return (proxy, builder.ConnectionString);
    }

    /// <summary>Closes every open connection (with a reset) and refuses new ones until <see cref="Restore"/>.</summary>
    public Task BreakAsync()
    {
        _broken = true;
        List<Socket> open;
        lock (_open)
        {
            open = [.. _open];
            _open.Clear();
        }

        foreach (var socket in open)
        {
            Reset(socket);
        }

        return Task.CompletedTask;
    }

    /// <summary>Forwards new connections again.</summary>
    public void Restore() => _broken = false;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        _listener.Stop();
        await BreakAsync();
        try
        {
            await _acceptLoop;
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _disposed.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_disposed.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_disposed.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_broken)
            {
                Interlocked.Increment(ref _refused);
                Reset(client);
                continue;
            }

            Interlocked.Increment(ref _accepted);
            _ = Task.Run(() => ForwardAsync(client));
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        if (!Track(client) || !Track(upstream))
        {
            Reset(client);
            Reset(upstream);
            return;
        }

        try
        {
            await upstream.ConnectAsync(_targetHost, _targetPort, _disposed.Token);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
            var up = PumpAsync(client, upstream, done.Token);
            var down = PumpAsync(upstream, client, done.Token);
            await Task.WhenAny(up, down);
            await done.CancelAsync();
            await Task.WhenAll(up, down);
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            Untrack(client);
            Untrack(upstream);
            Reset(client);
            Reset(upstream);
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    return;
                }

                var sent = 0;
                while (sent < read)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, cancellationToken);
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private bool Track(Socket socket)
    {
        lock (_open)
        {
            // A break between accept and here must not let the connection through.
            if (_broken)
            {
                return false;
            }

            _open.Add(socket);
            return true;
        }
    }

    private void Untrack(Socket socket)
    {
        lock (_open)
        {
            _open.Remove(socket);
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            // Linger 0: close with a TCP reset, so that both ends see the connection die at once.
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }
}
