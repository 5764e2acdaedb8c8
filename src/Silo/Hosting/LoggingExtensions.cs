using System.Text.Json;
using GenerationWorker.Silo.Configuration;
using Microsoft.Extensions.Logging.Console;

namespace GenerationWorker.Silo.Hosting;

/// <summary>The service's console logging: JSON lines in a container, readable text on a terminal.</summary>
public static class LoggingExtensions
{
    /// <summary>The format used when none is configured: text on a terminal, JSON otherwise.</summary>
    public static LogFormat Resolve(LogFormat? configured, bool stdoutIsTerminal) =>
        configured ?? (stdoutIsTerminal ? LogFormat.Text : LogFormat.Json);

    /// <summary>
    /// Replaces the logging providers with one console logger in <paramref name="format"/> (null: decided by whether
    /// stdout is a terminal). Scopes are included, and with JSON every message placeholder (<c>{JobId}</c>,
    /// <c>{Attempt}</c>...) is its own field under <c>State</c>. With <paramref name="workerId"/> (<c>WORKER_ID</c>),
    /// every line carries it as the scope <c>WorkerId</c>.
    /// </summary>
    public static ILoggingBuilder AddWorkerConsole(this ILoggingBuilder logging, LogFormat? format, string? workerId = null)
    {
        logging.ClearProviders();
        if (Resolve(format, !Console.IsOutputRedirected) == LogFormat.Json)
        {
            logging.AddJsonConsole(options =>
            {
                options.IncludeScopes = true;
                options.UseUtcTimestamp = true;
                options.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
                options.JsonWriterOptions = new JsonWriterOptions { Indented = false };
            });
        }
        else
        {
            logging.AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.IncludeScopes = true;
                options.TimestampFormat = "HH:mm:ss ";
            });
        }

        if (workerId is not null)
        {
            var console = logging.Services.Last(
                d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider));
            logging.Services.Remove(console);
            logging.Services.AddSingleton<ILoggerProvider>(sp =>
                new WorkerIdLoggerProvider(ActivatorUtilities.CreateInstance<ConsoleLoggerProvider>(sp), workerId));
        }

        // Per-request chatter of the HTTP stack would be most of the log (and of the CPU at high throughput); the
        // worker logs each Gemini call and upload itself. Logging__LogLevel__<category> still overrides these.
        logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        logging.AddFilter("Polly", LogLevel.Warning);
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        return logging;
    }
}
