using System.Text.Json;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Bench.Harness;

/// <summary>
/// One silo of the service, run as the executable is run in production: the tests' <see cref="SiloProcess"/>, its
/// output appended to a log file of the scenario, measured from outside through <c>/proc</c>.
/// </summary>
internal sealed class BenchSilo
{
    private BenchSilo(string name, SiloProcess silo, ChildProcess process)
    {
        Name = name;
        Silo = silo;
        Process = process;
    }

    /// <summary>silo1, silo2...</summary>
    public string Name { get; }

    /// <summary>The silo process (its ports, HTTP clients, health wait).</summary>
    public SiloProcess Silo { get; }

    /// <summary>The same process as measured from outside (CPU, memory, its log), ended when the run is interrupted.</summary>
    public ChildProcess Process { get; }

    /// <summary><c>PORT</c>.</summary>
    public int HttpPort => Silo.HttpPort;

    /// <summary><c>SILO_PORT</c>.</summary>
    public int SiloPort => Silo.SiloPort;

    /// <summary>The silo's identity as written in <c>generation_job.locked_by</c> (<c>ip:port@generation</c>).</summary>
    public string? Identity { get; private set; }

    /// <summary>Starts a silo with fresh ports, logging to <paramref name="logPath"/>; does not wait for it.</summary>
    public static BenchSilo Start(string name, IReadOnlyDictionary<string, string?> environment, string logPath, string workingDirectory)
    {
        var silo = SiloProcess.StartLogged(environment, logPath, workingDirectory);
        return new BenchSilo(name, silo, ChildProcess.Track(name, silo.Id, logPath));
    }

    /// <summary>Waits until <c>/health</c> answers 200, then reads the silo's identity from <c>/status</c>.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Silo.WaitHealthyAsync(timeout);
        // A silo starting on a busy machine may answer /health and still be slow to answer /status.
        var status = await Eventually.ValueAsync(
            async () =>
            {
                try
                {
                    using var response = await Silo.Operator.GetAsync("status", cancellationToken);
                    return response.IsSuccessStatusCode ? JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) : null;
                }
                catch (Exception exception) when (exception is HttpRequestException
                                                  || (exception is TaskCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    return null;
                }
            },
            timeout,
            $"{Name} answers /status",
            TimeSpan.FromMilliseconds(200));
        using (status)
        {
            Identity = status.RootElement.GetProperty("silo").GetString();
        }
    }
}
