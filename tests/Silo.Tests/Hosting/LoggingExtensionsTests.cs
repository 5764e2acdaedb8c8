using System.Text.Json;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Silo.Tests.Hosting;

public sealed class LoggingExtensionsTests
{
    [Theory]
    [InlineData(null, false, LogFormat.Json)]
    [InlineData(null, true, LogFormat.Text)]
    [InlineData(LogFormat.Json, true, LogFormat.Json)]
    [InlineData(LogFormat.Text, false, LogFormat.Text)]
    public void Format_IsJsonOffATerminalUnlessConfigured(LogFormat? configured, bool terminal, LogFormat expected) =>
        Assert.Equal(expected, LoggingExtensions.Resolve(configured, terminal));

    [Fact]
    public void Json_WritesOneLinePerEntryWithPlaceholdersAndScopesAsFields()
    {
        using var services = new ServiceCollection().AddLogging(logging => logging.AddWorkerConsole(LogFormat.Json)).BuildServiceProvider();
        var (formatter, options) = Formatter(services);
        Assert.Equal(ConsoleFormatterNames.Json, options.FormatterName);
        var scopes = new LoggerExternalScopeProvider();
        using var scope = scopes.Push(new Dictionary<string, object?> { ["Silo"] = "10.0.0.7:11111" });

        var output = new StringWriter();
        formatter.Write(Entry(), scopes, output);

        var text = output.ToString();
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var line = JsonDocument.Parse(text);
        var root = line.RootElement;
        Assert.Equal("Information", root.GetProperty("LogLevel").GetString());
        Assert.Equal("GenerationWorker.Grains.Jobs.JobGrain", root.GetProperty("Category").GetString());
        Assert.Equal("Job job_42 attempt 2 completed", root.GetProperty("Message").GetString());
        Assert.Equal("job_42", root.GetProperty("State").GetProperty("JobId").GetString());
        Assert.Equal(2, root.GetProperty("State").GetProperty("Attempt").GetInt32());
        Assert.Equal("10.0.0.7:11111", root.GetProperty("Scopes")[0].GetProperty("Silo").GetString());
        Assert.EndsWith("Z", root.GetProperty("Timestamp").GetString());
    }

    [Fact]
    public void Text_WritesOneReadableLineWithScopes()
    {
        using var services = new ServiceCollection().AddLogging(logging => logging.AddWorkerConsole(LogFormat.Text)).BuildServiceProvider();
        var (formatter, options) = Formatter(services);
        Assert.Equal(ConsoleFormatterNames.Simple, options.FormatterName);
        var scopes = new LoggerExternalScopeProvider();
        using var scope = scopes.Push("silo 10.0.0.7:11111");

        var output = new StringWriter();
        formatter.Write(Entry(), scopes, output);

        var text = output.ToString();
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("info: GenerationWorker.Grains.Jobs.JobGrain[1103]", text);
        Assert.Contains("silo 10.0.0.7:11111", text);
        Assert.Contains("Job job_42 attempt 2 completed", text);
    }

    [Fact]
    public void WorkerId_ReplacesTheConsoleProviderWithOneThatAddsIt()
    {
        using var services = new ServiceCollection()
            .AddLogging(logging => logging.AddWorkerConsole(LogFormat.Json, "replica-a")).BuildServiceProvider();

        var provider = Assert.Single(services.GetServices<ILoggerProvider>());

        Assert.IsType<WorkerIdLoggerProvider>(provider);
    }

    [Fact]
    public void WorkerId_IsAScopeFieldOnEveryJsonLine()
    {
        using var services = new ServiceCollection().AddLogging(logging => logging.AddWorkerConsole(LogFormat.Json)).BuildServiceProvider();
        var (formatter, _) = Formatter(services);
        var output = new StringWriter();
        using var provider = new WorkerIdLoggerProvider(new FormattingProvider(formatter, output), "replica-a");
        provider.SetScopeProvider(new LoggerExternalScopeProvider());
        var logger = provider.CreateLogger("GenerationWorker.Grains.Jobs.JobGrain");

        using (logger.BeginScope(new Dictionary<string, object?> { ["Silo"] = "10.0.0.7:11111" }))
        {
            logger.LogInformation("Job {JobId} completed", "job_42");
        }

        logger.LogWarning("Claiming failed");

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal("10.0.0.7:11111", first.RootElement.GetProperty("Scopes")[0].GetProperty("Silo").GetString());
        Assert.Equal("replica-a", first.RootElement.GetProperty("Scopes")[1].GetProperty("WorkerId").GetString());
        Assert.Equal("replica-a", second.RootElement.GetProperty("Scopes")[0].GetProperty("WorkerId").GetString());
    }

    /// <summary>Writes each entry with the service's console formatter into a string, as the console would.</summary>
    private sealed class FormattingProvider(ConsoleFormatter formatter, StringWriter output) : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(FormattingProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => provider._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> format) =>
                provider.Formatter(new LogEntry<TState>(logLevel, category, eventId, state, exception, format));
        }

        private void Formatter<TState>(LogEntry<TState> entry) => formatter.Write(entry, _scopes, output);
    }

    private static (ConsoleFormatter Formatter, ConsoleLoggerOptions Options) Formatter(ServiceProvider services)
    {
        var options = services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;
        var formatter = services.GetServices<ConsoleFormatter>().Single(f => f.Name == options.FormatterName);
        return (formatter, options);
    }

    private static LogEntry<IReadOnlyList<KeyValuePair<string, object?>>> Entry()
    {
        IReadOnlyList<KeyValuePair<string, object?>> state =
        [
            new("JobId", "job_42"),
            new("Attempt", 2),
            new("{OriginalFormat}", "Job {JobId} attempt {Attempt} completed"),
        ];
        return new LogEntry<IReadOnlyList<KeyValuePair<string, object?>>>(
            LogLevel.Information, "GenerationWorker.Grains.Jobs.JobGrain", new EventId(1103), state, null,
            (s, _) => $"Job {s[0].Value} attempt {s[1].Value} completed");
    }
}
