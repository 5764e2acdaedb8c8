using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using GenerationWorker.Grains.Storage;
using Xunit;

namespace GenerationWorker.TestSupport;

/// <summary>
/// A real S3 server for a test class: <c>@20minutes/s3rver</c> (verifies SigV4 signatures) over HTTPS on a free
/// loopback port, with a fresh data directory and bucket, run as a child process through <c>scripts/s3rver.sh</c>.
/// </summary>
/// <remarks>
/// The server's certificate is a throwaway self-signed one, and TLS is verified for real: the test process must trust
/// it through <c>SSL_CERT_FILE</c>. .NET on Linux reads that variable through OpenSSL once, when it first loads the
/// root store, from the native environment, so it cannot be set from inside the test process (neither
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> nor a later native setenv takes effect once any TLS
/// handshake ran). Run the tests with it exported: <c>eval "$(scripts/test-env.sh)"</c>. Without it the fixture fails
/// with that instruction.
/// </remarks>
public sealed class S3ServerFixture : IAsyncLifetime
{
    /// <summary>The server's access key id.</summary>
    public const string AccessKeyId = "S3RVER";

    /// <summary>The server's secret access key.</summary>
    public const string SecretAccessKey = "S3RVER";

    /// <summary>The public base URL put in <see cref="Options"/> (nothing answers there).</summary>
    public const string PublicBaseUrl = "https://cdn.example.test";

    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(30);

    // s3rver logs this line once per object it stored (PUT, POST or multipart completion), after the bytes are on disk.
    private static readonly Regex StoredLine = new("Stored object \"(?<key>.*)\" in bucket \"(?<bucket>[^\"]*)\" successfully", RegexOptions.CultureInvariant);

    private readonly Queue<string> _output = new();
    private readonly Dictionary<string, int> _stored = new(StringComparer.Ordinal);
    private Process? _process;

    /// <summary>The server's endpoint, <c>https://127.0.0.1:{port}/</c>.</summary>
    public Uri Endpoint { get; private set; } = new("https://127.0.0.1/");

    /// <summary>The bucket created for this fixture.</summary>
    public string Bucket { get; } = "images-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Where the server keeps its objects.</summary>
    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "s3rver-" + Guid.NewGuid().ToString("N"));

    /// <summary>The server's certificate (PEM).</summary>
    public string CertificatePath { get; private set; } = "";

    /// <summary>Settings for an R2 image store on this server (a new instance each time).</summary>
    public StorageOptions Options => new()
    {
        Kind = StorageKind.R2,
        Endpoint = Endpoint,
        AccessKeyId = AccessKeyId,
        SecretAccessKey = SecretAccessKey,
        Bucket = Bucket,
        PublicUrl = PublicBaseUrl,
    };

    /// <summary>The public base URL of the bucket as the server serves it (objects are readable there).</summary>
    public string BucketUrl => new Uri(Endpoint, Bucket).ToString();

    /// <summary>
    /// Points a silo's environment at this server: <c>STORAGE=r2</c> with its endpoint, keys and bucket, and
    /// <paramref name="publicUrl"/> (default <see cref="BucketUrl"/>) as <c>R2_PUBLIC_URL</c>.
    /// </summary>
    public void ConfigureSilo(IDictionary<string, string?> env, string? publicUrl = null)
    {
        env["STORAGE"] = "r2";
        env["R2_ENDPOINT"] = Endpoint.ToString();
        env["R2_ACCESS_KEY_ID"] = AccessKeyId;
        env["R2_SECRET_ACCESS_KEY"] = SecretAccessKey;
        env["R2_BUCKET"] = Bucket;
        env["R2_PUBLIC_URL"] = publicUrl ?? BucketUrl;
    }

    /// <summary>The path-style URL of an object on the server (anonymous GETs are allowed by s3rver).</summary>
    public Uri ObjectUrl(string key) => new(Endpoint, Bucket + "/" + ObjectKeys.ToUrlPath(key));

    /// <summary>What the server printed last (for failure messages).</summary>
    public string RecentOutput
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>
    /// How many times the server stored each key of <see cref="Bucket"/> since it started, read from its own log
    /// ("Stored object ... successfully", one line per upload it accepted), complete up to this call.
    /// </summary>
    /// <remarks>
    /// The lines arrive through a pipe, a little after the answers. To read them all, this stores a marker object (anonymous
    /// writes are allowed, as anonymous reads are) and waits for its line: the server logs in the order it stores, so
    /// every upload answered before this call is counted. Marker keys (<c>_marker/...</c>) are left out.
    /// </remarks>
    public async Task<IReadOnlyDictionary<string, int>> StoredCountsAsync(TimeSpan? timeout = null)
    {
        var marker = "_marker/" + Guid.NewGuid().ToString("N");
        using (var http = new HttpClient())
        using (var response = await http.PutAsync(ObjectUrl(marker), new ByteArrayContent([1])))
        {
            response.EnsureSuccessStatusCode();
        }

        await Eventually.UntilAsync(
            () =>
            {
                lock (_output)
                {
                    return _stored.ContainsKey(marker);
                }
            },
            timeout ?? TimeSpan.FromSeconds(10),
            $"s3rver logs the marker object {marker}",
            TimeSpan.FromMilliseconds(20),
            () => RecentOutput);
        lock (_output)
        {
            return _stored.Where(entry => !entry.Key.StartsWith("_marker/", StringComparison.Ordinal))
                .ToDictionary(entry => entry.Key, entry => entry.Value, StringComparer.Ordinal);
        }
    }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        await RunScriptAsync("install");
        CertificatePath = Path.Combine(RepoPaths.Root, ".local", "s3rver", "cert.pem");
        EnsureCertificateTrusted();

        // A free port can be taken between probing and binding: try a few.
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeLoopbackPort();
            StartServer(port);
            var (ready, error) = await TryRunScriptAsync("wait", port.ToString(), ((int)StartDeadline.TotalSeconds).ToString(), _process!.Id.ToString());
            if (ready)
            {
                Endpoint = new Uri($"https://127.0.0.1:{port}/");
                return;
            }

            await StopServerAsync();
            if (attempt == 3)
            {
                throw new InvalidOperationException($"s3rver did not start: {error}\n{RecentOutput}");
            }
        }
    }

    /// <summary>Stops the server (kill): its port refuses connections until <see cref="RestartAsync"/>.</summary>
    public Task StopAsync() => StopServerAsync();

    /// <summary>Starts the server again on the same port and data directory, and waits until it answers.</summary>
    public async Task RestartAsync()
    {
        await StopServerAsync();
        var port = Endpoint.Port;
        StartServer(port);
        var (ready, error) = await TryRunScriptAsync("wait", port.ToString(), ((int)StartDeadline.TotalSeconds).ToString(), _process!.Id.ToString());
        if (!ready)
        {
            throw new InvalidOperationException($"s3rver did not restart on port {port}: {error}\n{RecentOutput}");
        }
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await StopServerAsync();
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
    }

    private void StartServer(int port)
    {
        var script = Path.Combine(RepoPaths.Root, "scripts", "s3rver.sh");
        var process = new Process
        {
            StartInfo = new ProcessStartInfo("bash", [script, "run", port.ToString(), DataDirectory, Bucket])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            },
        };
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    private async Task StopServerAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
        process.Dispose();
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        var stored = StoredLine.Match(line);
        lock (_output)
        {
            if (stored.Success && stored.Groups["bucket"].Value == Bucket)
            {
                var key = stored.Groups["key"].Value;
                _stored[key] = _stored.GetValueOrDefault(key) + 1;
            }

            _output.Enqueue(line);
            while (_output.Count > 40)
            {
                _output.Dequeue();
            }
        }
    }

    private void EnsureCertificateTrusted()
    {
        var bundle = Environment.GetEnvironmentVariable("SSL_CERT_FILE");
        var certificate = File.ReadAllText(CertificatePath).Trim();
        if (string.IsNullOrEmpty(bundle) || !File.Exists(bundle) || !File.ReadAllText(bundle).Contains(certificate, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                "The test process does not trust the local S3 server's certificate. Run the tests with SSL_CERT_FILE "
                + "exported, e.g. `eval \"$(scripts/test-env.sh)\" && dotnet test ...` (it points to "
                + Path.Combine(RepoPaths.Root, ".local", "s3rver", "ca-bundle.pem") + "). SSL_CERT_FILE is now: "
                + (bundle ?? "(unset)"));
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunScriptAsync(params string[] arguments)
    {
        var (ok, error) = await TryRunScriptAsync(arguments);
        if (!ok)
        {
            throw new InvalidOperationException($"scripts/s3rver.sh {string.Join(' ', arguments)} failed: {error}");
        }
    }

    private static async Task<(bool Ok, string Error)> TryRunScriptAsync(params string[] arguments)
    {
        var script = Path.Combine(RepoPaths.Root, "scripts", "s3rver.sh");
        using var process = Process.Start(new ProcessStartInfo("bash", [script, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("could not run " + script);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode == 0, (await stderr) + (await stdout));
    }
}
